import { isRetryable, SourceError } from '../../domain/errors.js';
import { backoffDelay } from '../../domain/retry.js';
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
  | { readonly kind: 'lease_lost' }
  /** The source stayed away past the give-up horizon while being probed; its failure was reported when it went. */
  | { readonly kind: 'gave_up' };

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
    case 'gave_up':
      return { abort: 'completed', waitForRun: false, disposal: { kind: 'ack_release', cause: 'completed' } };
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

/**
 * The sampler gave up on a source that had been reachable, or may be again (its last error was
 * retryable: refused, unreachable, stalled, dropped). A broadcaster whose connection drops for a
 * minute comes back on the same stream id, and no new start is announced for it.
 */
export function isSourceGone(err: unknown): boolean {
  return err instanceof SourceError && err.code === 'source_failed' && isRetryable(err.cause);
}

export interface ProbeOptions {
  readonly sourceProbeBaseMs: number;
  readonly sourceProbeMaxMs: number;
  /** 0: probe until the stream ends. */
  readonly sourceGiveUpMs: number;
}

/** Where a held stream stands with a source that went away. */
export interface ProbeState {
  /** Failed screenings in a row (0: the source works). */
  readonly failures: number;
  /** Monotonic ms of the first of them. */
  readonly since?: number;
}

export const SOURCE_OK: ProbeState = { failures: 0 };

export type NextStep =
  | { readonly kind: 'finish'; readonly finish: Finish }
  /** Keep the stream, wait, then screen it again; `report` the failure first (only when the source has just gone). */
  | { readonly kind: 'probe'; readonly delayMs: number; readonly report: boolean; readonly state: ProbeState };

/**
 * What follows a screening's outcome. A source that went away keeps its stream: the failure is
 * reported once, when it goes, and the stream is screened again after a delay growing from
 * sourceProbeBaseMs to sourceProbeMaxMs, until the stream ends (the end aborts the wait), the
 * give-up horizon passes, or the worker stops. A screening that ran longer than the longest
 * probe delay counts as a recovery: its next failure is a new outage, reported again.
 */
export function nextStep(
  outcome: ScreeningOutcome,
  s: ProbeState,
  o: ProbeOptions,
  timing: { readonly now: number; readonly ranMs: number },
): NextStep {
  if (outcome.kind !== 'failed' || !isSourceGone(outcome.error)) return { kind: 'finish', finish: finishFor(outcome) };
  const fresh = s.failures === 0 || timing.ranMs > o.sourceProbeMaxMs;
  const state: ProbeState = fresh ? { failures: 1, since: timing.now } : { failures: s.failures + 1, since: s.since ?? timing.now };
  if (o.sourceGiveUpMs > 0 && timing.now - (state.since ?? timing.now) >= o.sourceGiveUpMs)
    return { kind: 'finish', finish: { kind: 'gave_up' } };
  return { kind: 'probe', delayMs: backoffDelay(state.failures, o.sourceProbeBaseMs, o.sourceProbeMaxMs), report: fresh, state };
}
