import type { ResolvedInference } from '../../config/stages/pipeline.js';
import type { RawFrame } from '../../domain/frame.js';
import { silentHooks, type Emitter } from '../../domain/hooks.js';
import type { Logger } from '../../domain/logger.js';
import type { FrameSignals } from '../../domain/signals.js';
import type { WorkerEvents } from '../events.js';
import type { DegradationView } from './degradation-view.js';
import type { InferenceOutcome } from './outcome.js';
import { isLowRisk, RiskMemory, riskOf, type StreamRisk } from './risk.js';

export interface InferenceRequest {
  readonly streamId: string;
  readonly frame: RawFrame;
  /** The stream has an open case: under degradation it keeps its classifiers. */
  readonly openCase?: boolean;
}

/**
 * One per worker, shared by all its streams: decides which frame the classifiers see next.
 * Nearest deadline (capturedAt + frameBudgetMs) first; one waiting frame per stream (a newer
 * one replaces it: latest-frame-wins); a frame already past its deadline when it would start is
 * shed; up to `maxBatch` frames start together, `concurrency` batches at a time.
 */
export interface InferenceScheduler {
  /** Queues the frame's classification. Never rejects: every ending is an InferenceOutcome. */
  submit(request: InferenceRequest): Promise<InferenceOutcome>;
  /** The stream is no longer screened here: its waiting frame settles `cancelled`, its risk memory goes. A running one finishes. */
  release(streamId: string): void;
  /** Frames waiting (not running). */
  readonly depth: number;
  /** Waiting frames settle `cancelled`, later submits too; resolves once the running batches finished. */
  close(): Promise<void>;
}

export interface InferenceSchedulerOptions extends ResolvedInference {
  readonly frameBudgetMs: number;
}

export interface InferenceSchedulerDeps {
  /** One frame's classification (the composite classifier: its models batch frames that arrive together). */
  readonly classify: (frame: RawFrame) => Promise<FrameSignals>;
  readonly options: InferenceSchedulerOptions;
  /** The overload governor's view; absent: never degraded. */
  readonly degradation?: DegradationView;
  readonly events?: Emitter<WorkerEvents>;
  readonly logger: Logger;
  readonly now?: () => number;
}

interface Job {
  readonly request: InferenceRequest;
  readonly deadline: number;
  readonly submittedAt: number;
  readonly settle: (o: InferenceOutcome) => void;
}

interface StreamEntry {
  waiting?: Job;
  readonly risk: RiskMemory;
  openCase: boolean;
  /** Its last frame was shed as low-risk (for one log line per transition). */
  degraded: boolean;
  /** When a frame of it last went to the classifiers (degraded streams are probed every degradedProbeMs). */
  lastClassifiedAt?: number;
}

export function createInferenceScheduler(deps: InferenceSchedulerDeps): InferenceScheduler {
  const { options } = deps;
  for (const [name, v] of [
    ['maxBatch', options.maxBatch],
    ['concurrency', options.concurrency],
  ] as const) {
    if (!(Number.isInteger(v) && v >= 1)) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  }
  const now = deps.now ?? Date.now;
  const events = deps.events ?? silentHooks<WorkerEvents>();
  const streams = new Map<string, StreamEntry>();
  const runningBatches = new Set<Promise<void>>();
  let depth = 0;
  let pumpQueued = false;
  let closed = false;

  const setDepth = (d: number): void => {
    depth = d;
    events.emit('schedule.depth', { depth });
  };

  function entryOf(streamId: string): StreamEntry {
    let e = streams.get(streamId);
    if (!e) {
      e = { risk: new RiskMemory(options.riskWindow), openCase: false, degraded: false };
      streams.set(streamId, e);
    }
    return e;
  }

  /** Takes the stream's waiting job out of the queue (it settles by the caller). */
  function unqueue(e: StreamEntry): Job | undefined {
    const job = e.waiting;
    if (job) {
      e.waiting = undefined;
      setDepth(depth - 1);
    }
    return job;
  }

  /**
   * Dispatch runs after the current I/O phase, not inside submit(): frames of other streams that
   * arrived together are hashed first and then compete by deadline (and can share a batch).
   */
  function schedulePump(): void {
    if (pumpQueued) return;
    pumpQueued = true;
    setImmediate(() => {
      pumpQueued = false;
      pump();
    });
  }

  function pump(): void {
    while (!closed && runningBatches.size < options.concurrency && depth > 0) {
      const batch = take();
      if (batch.length === 0) continue;
      const run = runBatch(batch).finally(() => {
        runningBatches.delete(run);
        pump();
      });
      runningBatches.add(run);
    }
  }

  /** Up to maxBatch waiting jobs, nearest deadline first; expired and degraded ones settle on the way. */
  function take(): Job[] {
    const ordered = [...streams.values()]
      .map((e) => e.waiting)
      .filter((j): j is Job => j !== undefined)
      .sort((a, b) => a.deadline - b.deadline);
    const batch: Job[] = [];
    const t = now();
    for (const job of ordered) {
      if (batch.length >= options.maxBatch) break;
      const e = streams.get(job.request.streamId)!;
      unqueue(e);
      if (t > job.deadline) {
        events.emit('pipeline.shed', { reason: 'classifiers_over_budget' });
        job.settle({ kind: 'shed', reason: 'classifiers_over_budget' });
        continue;
      }
      if (deps.degradation?.classifiersOffForLowRisk && isLowRisk(job.request.streamId, riskTable(), options.degradeRiskFloor)) {
        const probeDue = e.lastClassifiedAt === undefined || t - e.lastClassifiedAt >= options.degradedProbeMs;
        if (!probeDue) {
          markDegraded(job.request.streamId, e, true);
          events.emit('pipeline.shed', { reason: 'degraded_low_risk' });
          job.settle({ kind: 'shed', reason: 'degraded_low_risk' });
          continue;
        }
        // A probe: the stream stays degraded, but this frame refreshes its risk.
      } else {
        markDegraded(job.request.streamId, e, false);
      }
      e.lastClassifiedAt = t;
      batch.push(job);
    }
    return batch;
  }

  function riskTable(): StreamRisk[] {
    return [...streams].map(([streamId, e]) => ({ streamId, max: e.risk.max, openCase: e.openCase }));
  }

  function markDegraded(streamId: string, e: StreamEntry, degraded: boolean): void {
    if (e.degraded === degraded) return;
    e.degraded = degraded;
    events.emit('schedule.degraded', { streamId, degraded });
    if (degraded) {
      deps.logger.warn(
        { streamId, recentRisk: e.risk.max },
        'degraded: classifiers off for this low-risk stream (hash screening continues)',
      );
    } else {
      deps.logger.info({ streamId }, 'classifiers back on for this stream');
    }
  }

  async function runBatch(batch: readonly Job[]): Promise<void> {
    const started = now();
    for (const job of batch) events.emit('schedule.wait', { seconds: (started - job.submittedAt) / 1000 });
    events.emit('schedule.batch', { size: batch.length });
    const results = await Promise.allSettled(batch.map((job) => deps.classify(job.request.frame)));
    const ranMs = now() - started;
    events.emit('schedule.run', { seconds: ranMs / 1000 });
    results.forEach((r, i) => {
      const job = batch[i]!;
      const queuedMs = started - job.submittedAt;
      if (r.status === 'fulfilled') {
        streams.get(job.request.streamId)?.risk.record(riskOf(r.value));
        job.settle({ kind: 'classified', signals: r.value, queuedMs, ranMs });
      } else {
        job.settle({ kind: 'failed', error: r.reason, queuedMs, ranMs });
      }
    });
  }

  return {
    submit(request) {
      return new Promise<InferenceOutcome>((settle) => {
        if (closed) return settle({ kind: 'cancelled' });
        const e = entryOf(request.streamId);
        e.openCase = request.openCase ?? false;
        const replaced = unqueue(e);
        if (replaced) {
          events.emit('pipeline.shed', { reason: 'superseded' });
          replaced.settle({ kind: 'superseded' });
        }
        const t = now();
        e.waiting = { request, deadline: request.frame.capturedAt + options.frameBudgetMs, submittedAt: t, settle };
        setDepth(depth + 1);
        schedulePump();
      });
    },
    release(streamId) {
      const e = streams.get(streamId);
      if (!e) return;
      unqueue(e)?.settle({ kind: 'cancelled' });
      if (e.degraded) events.emit('schedule.degraded', { streamId, degraded: false });
      streams.delete(streamId);
    },
    get depth() {
      return depth;
    },
    async close() {
      closed = true;
      for (const e of streams.values()) unqueue(e)?.settle({ kind: 'cancelled' });
      await Promise.allSettled([...runningBatches]);
    },
  };
}
