import { isRetryable } from '../../domain/errors.js';
import type { ScreeningOutcome } from '../../domain/screening-outcome.js';
import type { AbortCause } from './errors.js';

/**
 * Why a held stream finishes: what the screening returned, or what intake saw first (an end,
 * a shutdown, a re-announce, a lost lease).
 */
export type Finish =
  | { readonly kind: 'completed' }
  /** Failed (or onAssignment rejected): intake publishes the failure event, then retries or gives up by retryability. */
  | { readonly kind: 'crashed'; readonly error: unknown }
  | { readonly kind: 'ended' }
  | { readonly kind: 'shutdown' }
  | { readonly kind: 'superseded' }
  | { readonly kind: 'lease_lost' };

/** What is done with the start message and the lease. */
export type Disposal =
  /** Ack (only as the verified owner), then release the lease. */
  | { readonly kind: 'ack_release'; readonly cause: AbortCause }
  /** Release first, so the redelivered start finds no lease, then nak with this delay. */
  | { readonly kind: 'release_nak'; readonly delayMs: number }
  /** The old start is gone from the stream: release and hand the new (successor) start back. */
  | { readonly kind: 'release_pass_on' }
  /** The message may be another worker's now (on 2.9 an ack by sequence would delete theirs): touch nothing. */
  | { readonly kind: 'leave' };

export interface Settlement {
  /** Abort the assignment's signal with this cause before anything else (already aborted for a lost lease). */
  readonly abort?: AbortCause;
  /** Wait (up to the abort grace) for onAssignment to return before disposing. */
  readonly waitForRun: boolean;
  /** Publish a failure event for this error first; if that fails, dispose by `unreported` instead. */
  readonly report?: { readonly error: unknown };
  readonly disposal: Disposal;
}

export interface SettlementContext {
  readonly retryDelayMs: number;
}

/** Maps what onAssignment returned to why the stream finishes. A rejection is passed as `failed`, unreported. */
export function finishFor(outcome: ScreeningOutcome): Finish {
  switch (outcome.kind) {
    case 'source_ended':
    case 'stopped':
      return { kind: 'completed' };
    case 'lease_lost':
      return { kind: 'lease_lost' };
    case 'failed':
      // A retried failure is reported again with the same event id: the server stores it once.
      return { kind: 'crashed', error: outcome.error };
  }
}

/** The one table of what happens to the start message and the lease, for every way a held stream finishes. */
export function settle(finish: Finish, ctx: SettlementContext): Settlement {
  switch (finish.kind) {
    case 'completed':
      return { abort: 'completed', waitForRun: false, disposal: { kind: 'ack_release', cause: 'completed' } };
    case 'crashed':
      return {
        waitForRun: false,
        report: { error: finish.error },
        disposal: isRetryable(finish.error)
          ? { kind: 'release_nak', delayMs: ctx.retryDelayMs }
          : { kind: 'ack_release', cause: 'completed' },
      };
    case 'ended':
      return { abort: 'ended', waitForRun: true, disposal: { kind: 'ack_release', cause: 'ended' } };
    case 'shutdown':
      // Another worker takes over at once.
      return { abort: 'shutdown', waitForRun: true, disposal: { kind: 'release_nak', delayMs: 0 } };
    case 'superseded':
      return { abort: 'superseded', waitForRun: true, disposal: { kind: 'release_pass_on' } };
    case 'lease_lost':
      return { waitForRun: true, disposal: { kind: 'leave' } };
  }
}

export interface UnreportedContext extends SettlementContext {
  readonly leaseLost: boolean;
  readonly stopping: boolean;
}

/**
 * The failure event could not be published. Lease lost: the new owner screens it. Stopping:
 * another worker takes it at once. Otherwise it was refused for good: come back after a delay
 * rather than spin.
 */
export function settleUnreported(ctx: UnreportedContext): Disposal {
  if (ctx.leaseLost) return { kind: 'leave' };
  return { kind: 'release_nak', delayMs: ctx.stopping ? 0 : ctx.retryDelayMs };
}
