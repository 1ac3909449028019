import type { EscalationPriority, EscalationReason, HashMatch } from '../../contracts/index.js';
import { explicitScore } from './face-gate.js';
import { possibleMinor } from './possible-minor.js';
import type { PolicyOptions } from '../../config/index.js';
import type { Decision, FrameAnalysis, PolicyState } from './types.js';

export interface PolicyResult {
  readonly decisions: readonly Decision[];
  readonly state: PolicyState;
}

const PRIORITY_RANK: Record<EscalationPriority, number> = { normal: 0, high: 1, critical: 2 };

/**
 * The screening policy: pure, so every rule is unit-tested and a shadow policy can run beside
 * the live one on the same inputs.
 *
 * - A match on a `kill` list (confirmed material) stops the stream: the closest match is reported;
 *   it never escalates as well (the kill-switch is the stronger action, and a repeat within the
 *   kill cooldown would only page reviewers about a stream already being stopped).
 * - A match on an `escalate` list goes to human review at high priority.
 * - A known-video match (the stream's recent frames amount to a listed video) acts like a match
 *   on its list: kill or escalate.
 * - Classifiers alone only ever escalate: explicit content together with a possible minor is
 *   critical; explicit content alone is normal priority.
 * - Repeats are suppressed per stream for a cooldown, unless the escalation priority rises.
 */
export function decide(state: PolicyState, frame: FrameAnalysis, options: PolicyOptions, now: number): PolicyResult {
  const shadow = options.mode === 'shadow';
  const decisions: Decision[] = [];
  let next = state;

  const matches = frame.videoMatches?.length ? [...frame.matches, ...frame.videoMatches] : frame.matches;
  const kill = closest(matches.filter((m) => (m.action ?? 'kill') === 'kill'));
  const killed = kill !== undefined && !within(state.lastKillSwitchAt, now, options.killSwitchCooldownMs);
  if (killed) {
    decisions.push({ kind: 'killswitch', match: kill, shadow });
    next = { ...next, lastKillSwitchAt: now };
  }

  const { priority, reasons } = escalationFor({ ...frame, matches }, options);
  if (priority && reasons.length > 0 && !suppressed(state, priority, now, options.escalationCooldownMs)) {
    decisions.push({ kind: 'escalation', priority, reasons, shadow });
    next = { ...next, lastEscalationAt: { ...next.lastEscalationAt, [priority]: now } };
  }
  return { decisions, state: next };
}

function escalationFor(frame: FrameAnalysis, options: PolicyOptions): { priority?: EscalationPriority; reasons: EscalationReason[] } {
  const reasons: EscalationReason[] = [];
  let priority: EscalationPriority | undefined;
  const raise = (p: EscalationPriority) => {
    if (!priority || PRIORITY_RANK[p] > PRIORITY_RANK[priority]) priority = p;
  };

  // Kill-list matches are the kill-switch's business (issued, or already issued within its
  // cooldown); repeating them as escalations would page reviewers for a stream already stopped.
  for (const match of frame.matches) {
    if ((match.action ?? 'kill') !== 'escalate') continue;
    reasons.push({ kind: 'hash_match', match });
    raise('high');
  }

  const signals = frame.signals;
  const explicit = explicitScore(signals?.nudity);
  const minor = signals?.faces !== undefined && possibleMinor(signals.faces, options.challengeAge);
  if (minor && explicit >= options.nudityWithMinorEscalateAt) {
    reasons.push({ kind: 'classifier', signal: 'explicit', score: explicit, threshold: options.nudityWithMinorEscalateAt });
    // NaN ages (a face the age model could not read) count as possible minors (possible-minor.ts) but have
    // no age to report; reviewers get the youngest real estimate, or none.
    const ages = (signals?.faces ?? []).map((f) => f.age).filter(Number.isFinite);
    reasons.push({ kind: 'possible_minor', ...(ages.length ? { minAge: Math.min(...ages) } : {}), challengeAge: options.challengeAge });
    raise('critical');
  } else if (explicit >= options.nudityEscalateAt) {
    reasons.push({ kind: 'classifier', signal: 'explicit', score: explicit, threshold: options.nudityEscalateAt });
    raise('normal');
  }

  for (const [signal, threshold] of Object.entries(options.customEscalateAt)) {
    const score = signals?.custom?.[signal];
    if (score !== undefined && score >= threshold) {
      reasons.push({ kind: 'classifier', signal, score, threshold });
      raise(minor ? 'critical' : 'high');
    }
  }
  return { priority, reasons };
}

function closest(matches: readonly HashMatch[]): HashMatch | undefined {
  let best: HashMatch | undefined;
  for (const m of matches) if (!best || m.distance < best.distance) best = m;
  return best;
}

function within(at: number | undefined, now: number, windowMs: number): boolean {
  return at !== undefined && now - at < windowMs;
}

/** A repeat is suppressed while any escalation of the same or higher priority is recent. */
function suppressed(state: PolicyState, priority: EscalationPriority, now: number, cooldownMs: number): boolean {
  return Object.entries(state.lastEscalationAt).some(
    ([p, at]) => PRIORITY_RANK[p as EscalationPriority] >= PRIORITY_RANK[priority] && within(at, now, cooldownMs),
  );
}
