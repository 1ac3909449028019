import type { AcquireOutcome } from './lease.js';

/** What to do with a valid start this worker does not hold yet. */
export type Admission =
  | { readonly kind: 'screen' }
  /** The stream ended after this start was published: ack and release without screening. */
  | { readonly kind: 'skip-ended' }
  /** Another worker's lease: come back when a dead holder's lease will have expired. */
  | { readonly kind: 'held-elsewhere'; readonly holder: string; readonly retryInMs: number }
  /** Admission could not be decided (lease store or ends lookup failed): give everything back, try later. */
  | { readonly kind: 'retry'; readonly delayMs: number; readonly cause: unknown };

export interface AdmissionInput {
  /** The lease attempt, or the error when the lease store could not be reached. */
  readonly lease: AcquireOutcome | { readonly kind: 'unavailable'; readonly cause: unknown };
  /** Server time the start was published; ends at or before it belong to an earlier life of the id. */
  readonly startNanos: bigint;
  /** The stream's last stored end, or the error when it could not be looked up (not needed unless the lease was acquired). */
  readonly lastEnd?: { readonly endedAtNanos?: bigint } | { readonly cause: unknown };
  /** A later end that arrived while admission was checking. */
  readonly endSeenNanos?: bigint;
  readonly retryDelayMs: number;
}

export function admission(input: AdmissionInput): Admission {
  const { lease } = input;
  if (lease.kind === 'unavailable') return { kind: 'retry', delayMs: input.retryDelayMs, cause: lease.cause };
  // Normally the holder's working() keeps the start from being redelivered at all; we got it
  // because the holder is slow or dead (or it is a re-announce).
  if (lease.kind === 'held') return { kind: 'held-elsewhere', holder: lease.holder, retryInMs: lease.retryInMs };
  const lastEnd = input.lastEnd ?? {};
  if ('cause' in lastEnd) return { kind: 'retry', delayMs: input.retryDelayMs, cause: lastEnd.cause };
  const endedAt = latest(lastEnd.endedAtNanos, input.endSeenNanos);
  // Strictly later only: for a tie the order is unknown, and screening a dead stream is cheap
  // while not screening a live one is the risk this worker exists to remove.
  if (endedAt !== undefined && endedAt > input.startNanos) return { kind: 'skip-ended' };
  return { kind: 'screen' };
}

function latest(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}
