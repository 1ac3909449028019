import type { CooldownState } from '../policy/index.js';

const PRIORITIES = ['normal', 'high', 'critical'] as const;

/**
 * Reads policy state another worker (maybe another version) stored for a stream. Only the
 * fields the policy uses, each a finite epoch-ms number; anything else refuses the whole value,
 * and the screening starts without it rather than on a guess.
 */
export function parsePolicyState(value: unknown): CooldownState | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as { lastKillSwitchAt?: unknown; lastEscalationAt?: unknown };
  if (v.lastKillSwitchAt !== undefined && !isTime(v.lastKillSwitchAt)) return undefined;
  const esc = v.lastEscalationAt ?? {};
  if (typeof esc !== 'object' || esc === null) return undefined;
  const lastEscalationAt: Partial<Record<(typeof PRIORITIES)[number], number>> = {};
  for (const p of PRIORITIES) {
    const at = (esc as Record<string, unknown>)[p];
    if (at === undefined) continue;
    if (!isTime(at)) return undefined;
    lastEscalationAt[p] = at;
  }
  return { ...(v.lastKillSwitchAt === undefined ? {} : { lastKillSwitchAt: v.lastKillSwitchAt }), lastEscalationAt };
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}
