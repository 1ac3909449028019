import type { IngestKind } from '../contracts/index.js';

/**
 * What the bridge reports while it works (domain/hooks.ts): metrics listen, tests may too.
 * Outcomes are stable labels: allowed, queued (allowed, start in the outbox), blocked,
 * unavailable (fail-closed refusal), invalid, unauthorized, ended, other.
 */
export type HookOutcome = 'allowed' | 'queued' | 'blocked' | 'unavailable' | 'invalid' | 'unauthorized' | 'ended' | 'other';

export interface BridgeEvents {
  hook: { readonly kind: IngestKind; readonly outcome: HookOutcome; readonly seconds: number };
  outbox: { readonly batches: number };
}
