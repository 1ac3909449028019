import type { FrameRef, HashMatch } from '../domain/decision.js';

/**
 * `screening.escalation.<streamId>`: something a human should review, short of killing the
 * stream (a classifier score over threshold, a hit on an `escalate` list). Deliberately open:
 * the policy stage decides which evidence fields it fills.
 */
export interface EscalationEvent {
  readonly type: 'escalation';
  readonly eventId: string;
  readonly streamId: string;
  /** Stable reason code, e.g. `hash_match`, `classifier`. */
  readonly reason: string;
  readonly severity?: 'low' | 'medium' | 'high';
  readonly match?: HashMatch;
  readonly frame?: FrameRef;
  /** Classifier outputs by label, 0..1. */
  readonly scores?: Readonly<Record<string, number>>;
  readonly decidedAt: string;
  readonly latencyMs?: number;
  readonly workerId: string;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** Where a published event was stored. `duplicate`: an earlier attempt had already stored it. */
export interface PublishReceipt {
  readonly stream: string;
  readonly seq: number;
  readonly duplicate: boolean;
  /** How many publish attempts it took (1 when the first one was acked). */
  readonly attempts: number;
}

export interface PublishCallOptions {
  /** Stops the retries (e.g. the lease was lost); the call then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}
