import type { DeadLetterReason } from '../contracts/index.js';
import type { HashListSyncEvent } from '../hash/object-store-sync.js';
import type { ErrorCode, SourceError } from '../domain/errors.js';
import type { RawFrame } from '../domain/frame.js';
import type { FrameSignals } from '../domain/signals.js';
import type { SourceFailedError } from './sampler/errors.js';
import type { DecodeMode, DecodeSwitchReason } from './sampler/decode-mode.js';

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
  /**
   * The source started failing (`down`: a run ended in error, ffmpeg is being restarted) or
   * recovered (frames flow again, or the sampler ended). Paired, so a gauge of failing sources
   * returns to 0.
   */
  'sampler.down': { readonly down: boolean };
  /** The stream's decode mode: at the sampler's start (no `previous`) and at every switch. */
  'sampler.decodeMode': {
    readonly streamId: string;
    readonly mode: DecodeMode;
    readonly previous?: DecodeMode;
    readonly reason?: DecodeSwitchReason;
  };
  /** A keyframe interval was measured (stream timestamps, consecutive keyframes of one run). */
  'sampler.keyframe': { readonly streamId: string; readonly intervalMs: number };
  /** CPU seconds ffmpeg used decoding this stream since the previous report. */
  'sampler.decodeCpu': { readonly streamId: string; readonly mode: DecodeMode; readonly seconds: number };
  /** The sampler stopped for good (ended, failed or stopped), in this decode mode. */
  'sampler.closed': { readonly streamId: string; readonly mode: DecodeMode };
  /** Terminal: retries are spent (or the cause cannot be retried); frames() throws this error. */
  'sampler.failed': SourceFailedError;
  /**
   * The egress proxy did not make a connection ffmpeg asked for: `refused` by the source policy
   * (a denied host or address; the source is given up), or `tls` (the host could not prove its name).
   */
  'sampler.egressBlocked': { readonly kind: 'refused' | 'tls' };

  'intake.assigned': { readonly streamId: string; readonly runId: string; readonly deliveryCount: number; readonly tookOverFrom?: string };
  'intake.finished': { readonly streamId: string; readonly runId: string; readonly outcome: AssignmentOutcome };
  /** An invalid event was dead-lettered (for starts: once its dead letter is stored). */
  'intake.deadLetter': { readonly subject: string; readonly reason: DeadLetterReason; readonly kind: 'start' | 'end' | 'decision' };
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
  /**
   * A lease entry out of step (revision_mismatch, vanished: repaired; inconsistent: not
   * repairable here) or two workers taking turns on a stream (flapping). Alerted; readiness red.
   */
  'intake.leaseAnomaly': { readonly streamId: string; readonly kind: 'revision_mismatch' | 'vanished' | 'inconsistent' | 'flapping' };
  /**
   * A held stream's source went away after the sampler's retries: the stream stays assigned and
   * is screened again after `delayMs` (`waiting`), or is released at the give-up horizon (`gave_up`).
   */
  'intake.sourceProbe': {
    readonly streamId: string;
    readonly event: 'waiting' | 'gave_up';
    readonly failures: number;
    readonly delayMs?: number;
  };

  /** The outbox after every change: entries not yet acked by JetStream, their bytes, the oldest one's record time (epoch ms). */
  'outbox.state': { readonly depth: number; readonly bytes: number; readonly capacity: number; readonly oldestRecordedAt?: number };
  /**
   * What happened to one decision in the outbox: `recorded` (on disk, fsynced), `published`
   * (acked by JetStream), `replayed` (found on disk at start), `overflow` (outbox full: kept in
   * memory only), `write_failed` (disk refused: kept in memory only), `rejected` (JetStream
   * refuses it for good: moved aside, never retried).
   */
  'outbox.event': { readonly event: 'recorded' | 'published' | 'replayed' | 'overflow' | 'write_failed' | 'rejected' };

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
  'pipeline.decision': { readonly kind: 'killswitch' | 'escalation' | 'failure' | 'case' | 'quarantine'; readonly shadow: boolean };
  /** Work skipped to stay within the budget, or lost: never silent. */
  'pipeline.shed': {
    readonly reason: 'classifier_failed' | 'classifiers_over_budget' | 'sampler_queue_full' | 'superseded' | 'degraded_low_risk';
  };
  'pipeline.overBudget': Record<string, never>;
  /** What the classifiers said about a frame (observers only: `npm run eval:benign` records them; nothing is logged). */
  'pipeline.signals': { readonly streamId: string; readonly seq: number; readonly pts: number; readonly signals: FrameSignals };
  /** A stream's screening started (+1) or ended (-1). */
  'pipeline.active': { readonly delta: 1 | -1 };
  /** An error worth counting by its code (a metric label). */
  'pipeline.error': { readonly code: ErrorCode };

  /** Frames waiting for the inference scheduler (worker/schedule/), after every change. */
  'schedule.depth': { readonly depth: number };
  /** How long a frame waited in the inference scheduler before its classification started. */
  'schedule.wait': { readonly seconds: number };
  /** Frames the scheduler started together (one batch). */
  'schedule.batch': { readonly size: number };
  /** How long one batch's classification took. */
  'schedule.run': { readonly seconds: number };
  /** A stream's classifiers were turned off (degradation, low-risk stream) or back on. */
  'schedule.degraded': { readonly streamId: string; readonly degraded: boolean };

  /** A publish was not acknowledged and is retried (`type`: the event type). */
  'publish.retry': { readonly type: string; readonly attempt: number };

  /** The capacity governor's measures after each sample (shares of 0..1; undefined while unknown). */
  'capacity.sample': {
    readonly cpu: number | undefined;
    readonly elu: number | undefined;
    readonly breaches: number | undefined;
    readonly cpusAvailable: number;
    readonly estimatedCapacity: number;
  };
  /** Admission changed: `admitting`, or full and why (cpu, elu, breaches, degraded, cap). */
  'capacity.admission': { readonly state: AdmissionLabel; readonly previous: AdmissionLabel };
  /** The degradation level changed (one step at a time). */
  'capacity.degradation': { readonly level: number; readonly previous: number };
  /** A sampled frame not passed on because the worker runs at half rate (degradation level 2). */
  'sampler.thinned': { readonly streamId: string };
}

/** Whether a worker takes new streams, or why not (a metric label). */
export type AdmissionLabel = 'admitting' | 'cpu' | 'elu' | 'breaches' | 'degraded' | 'cap';

/** How a held stream ended (a metric label). */
export type AssignmentOutcome =
  'completed' | 'failed' | 'crashed' | 'ended' | 'shutdown' | 'superseded' | 'lease_lost' | 'gave_up' | 'skipped_ended' | 'abandoned';

export type { HashListSyncEvent };
