import type { DeadLetterReason } from '../contracts/index.js';
import type { HashListSyncEvent } from '../hash/object-store-sync.js';
import type { ErrorCode, SourceError } from '../domain/errors.js';
import type { RawFrame } from '../domain/frame.js';
import type { SourceFailedError } from './sampler/errors.js';

/**
 * Everything the worker's stages report, in one typed map: stages emit through an
 * `Emitter<WorkerEvents>` they are given (domain/hooks.ts), and the composition root subscribes
 * metrics to it (app/worker-metrics.ts). No stage knows about Prometheus.
 */
export interface WorkerEvents {
  /** An ffmpeg run started (attempt counts every run, the first included). */
  'sampler.spawn': { readonly attempt: number; readonly pid: number | undefined };
  /** A run ended with a retryable error and another starts after `delayMs`. */
  'sampler.restart': { readonly attempt: number; readonly failures: number; readonly delayMs: number; readonly error: SourceError };
  /** The consumer fell behind and `frame` (the oldest queued) was discarded. */
  'sampler.drop': { readonly frame: RawFrame; readonly droppedTotal: number };
  /** Terminal: retries are spent (or the cause cannot be retried); frames() throws this error. */
  'sampler.failed': SourceFailedError;

  'intake.assigned': { readonly streamId: string; readonly runId: string; readonly deliveryCount: number; readonly tookOverFrom?: string };
  'intake.finished': { readonly streamId: string; readonly runId: string; readonly outcome: AssignmentOutcome };
  /** An invalid event was dead-lettered (for starts: once its dead letter is stored). */
  'intake.deadLetter': { readonly subject: string; readonly reason: DeadLetterReason; readonly kind: 'start' | 'end' };
  /**
   * A dead letter for an invalid start could not be stored within deadLetterTimeoutMs
   * (`timeout`: dead-letter stream unreachable or not answering) or was refused for good
   * (`refused`); the start goes back and comes round again after `retryInMs`. Repeats mean the
   * dead-letter stream needs an operator.
   */
  'intake.deadLetterDeferred': {
    readonly subject: string;
    readonly reason: DeadLetterReason;
    readonly why: 'timeout' | 'refused';
    readonly retryInMs: number;
    readonly deliveryCount: number;
  };
  /** A start arrived for a stream another worker holds (normal only for re-announces and takeovers). */
  'intake.heldElsewhere': { readonly streamId: string; readonly holder: string };

  /** Object Store hash-list distribution: every load, removal, refusal and retry. */
  'hashlist.sync': HashListSyncEvent;

  'pipeline.frame': { readonly source: 'ffmpeg' };
  /** Seconds from the frame leaving ffmpeg to the end of a stage. */
  'pipeline.latency': { readonly stage: 'hash' | 'classify' | 'decision'; readonly seconds: number };
  'pipeline.match': { readonly list: string };
  /** A match a negative list's hit on the same frame suppressed (`by`: the negative list). */
  'pipeline.suppressed': { readonly list: string; readonly by: string };
  /** A match of a quarantined list entry: counted, not acted on. */
  'pipeline.quarantined': { readonly list: string };
  'pipeline.decision': { readonly kind: 'killswitch' | 'escalation' | 'failure' | 'quarantine'; readonly shadow: boolean };
  /** Work skipped to stay within the budget, or lost: never silent. */
  'pipeline.shed': { readonly reason: 'classifier_failed' | 'classifiers_over_budget' | 'sampler_queue_full' };
  'pipeline.overBudget': Record<string, never>;
  /** A stream's screening started (+1) or ended (-1). */
  'pipeline.active': { readonly delta: 1 | -1 };
  /** An error worth counting by its code (a metric label). */
  'pipeline.error': { readonly code: ErrorCode };
}

/** How a held stream ended (a metric label). */
export type AssignmentOutcome =
  'completed' | 'failed' | 'crashed' | 'ended' | 'shutdown' | 'superseded' | 'lease_lost' | 'skipped_ended' | 'abandoned';

export type { HashListSyncEvent };
