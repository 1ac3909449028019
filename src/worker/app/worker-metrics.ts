import { errorCode } from '../../domain/errors.js';
import type { Listeners } from '../../domain/hooks.js';
import type { Metrics } from '../../metrics/metrics.js';
import type { WorkerEvents } from '../events.js';

/**
 * The worker's metrics, as listeners on its one event map: the only place where what the
 * stages report becomes Prometheus series (names and labels in src/metrics/metrics.ts).
 */
export function workerMetricsListeners(metrics: Metrics): Listeners<WorkerEvents> {
  return {
    'sampler.restart': ({ error }) => metrics.sourceRestarts.inc({ code: error.code }),
    'sampler.drop': () => metrics.framesShed.inc({ reason: 'sampler_queue_full' }),
    'sampler.down': ({ down }) => metrics.sourcesDown.inc(down ? 1 : -1),
    'sampler.decodeMode': ({ streamId, mode, previous, reason }) => {
      metrics.decodeStreams.inc({ mode });
      metrics.streamDecodeMode.set({ stream: streamId, mode }, 1);
      if (previous) {
        metrics.decodeStreams.dec({ mode: previous });
        metrics.streamDecodeMode.remove({ stream: streamId, mode: previous });
      }
      if (reason) metrics.decodeSwitches.inc({ to: mode, reason });
    },
    'sampler.keyframe': ({ streamId, intervalMs }) => metrics.streamKeyframeInterval.set({ stream: streamId }, intervalMs / 1000),
    'sampler.decodeCpu': ({ streamId, mode, seconds }) => {
      metrics.decodeCpu.inc({ mode }, seconds);
      metrics.streamDecodeCpu.inc({ stream: streamId }, seconds);
    },
    'sampler.closed': ({ streamId, mode }) => {
      metrics.decodeStreams.dec({ mode });
      metrics.streamDecodeMode.remove({ stream: streamId, mode });
      metrics.streamKeyframeInterval.remove({ stream: streamId });
      metrics.streamDecodeCpu.remove({ stream: streamId });
    },
    'sampler.failed': (error) => metrics.errors.inc({ code: errorCode(error) }),
    'sampler.egressBlocked': ({ kind }) => metrics.egressBlocked.inc({ kind }),
    'intake.assigned': (e) => metrics.assignments.inc({ event: e.tookOverFrom ? 'takeover' : 'assigned' }),
    'intake.finished': (e) => metrics.assignments.inc({ event: e.outcome }),
    'intake.deadLetter': (e) => metrics.deadLetters.inc({ reason: e.reason }),
    'intake.deadLetterDeferred': () => metrics.errors.inc({ code: 'deadletter_deferred' }),
    'hashlist.sync': (e) => {
      if (e.type === 'refused') metrics.errors.inc({ code: e.error.code });
    },
    'pipeline.frame': ({ source }) => metrics.framesReceived.inc({ source }),
    'pipeline.latency': ({ stage, seconds }) => metrics.frameLatency.observe({ stage }, seconds),
    'pipeline.match': ({ list }) => metrics.hashMatches.inc({ list }),
    'pipeline.suppressed': ({ list, by }) => metrics.hashMatchesSuppressed.inc({ list, by }),
    'pipeline.quarantined': ({ list }) => metrics.hashMatchesQuarantined.inc({ list }),
    'pipeline.decision': ({ kind, shadow }) => metrics.decisions.inc({ kind, shadow: String(shadow) }),
    'pipeline.shed': ({ reason }) => metrics.framesShed.inc({ reason }),
    'pipeline.overBudget': () => metrics.framesOverBudget.inc(),
    'schedule.depth': ({ depth }) => metrics.inferenceQueueDepth.set(depth),
    'schedule.wait': ({ seconds }) => metrics.inferenceQueueWait.observe(seconds),
    'schedule.batch': ({ size }) => metrics.inferenceBatchSize.observe(size),
    'schedule.run': ({ seconds }) => metrics.inferenceRun.observe(seconds),
    'schedule.degraded': ({ degraded }) => metrics.degradedStreams.inc(degraded ? 1 : -1),
    'pipeline.active': ({ delta }) => metrics.activeStreams.inc(delta),
    'pipeline.error': ({ code }) => metrics.errors.inc({ code }),
    'publish.retry': ({ type }) => metrics.publishRetries.inc({ type }),
    'intake.leaseAnomaly': ({ kind }) => metrics.leaseAnomalies.inc({ kind }),
    'intake.sourceProbe': ({ event }) => metrics.sourceProbes.inc({ event }),
    'outbox.state': (s) => {
      metrics.outboxDepth.set(s.depth);
      metrics.outboxBytes.set(s.bytes);
      metrics.outboxCapacity.set(s.capacity);
      metrics.outboxOldest.set(s.oldestRecordedAt === undefined ? 0 : s.oldestRecordedAt / 1000);
    },
    'outbox.event': ({ event }) => metrics.outboxEvents.inc({ event }),
    'capacity.sample': (s) => {
      if (s.cpu !== undefined) metrics.cpuUtilisation.set(s.cpu);
      if (s.elu !== undefined) metrics.eventLoopUtilisation.set(s.elu);
      metrics.budgetBreachRatio.set(s.breaches ?? 0);
      metrics.cpusAvailable.set(s.cpusAvailable);
      metrics.measuredCapacity.set(s.estimatedCapacity);
    },
    'capacity.admission': ({ state, previous }) => {
      metrics.admissionState.set({ state: previous }, 0);
      metrics.admissionState.set({ state }, 1);
    },
    'capacity.degradation': ({ level, previous }) => {
      metrics.degradationLevel.set(level);
      const up = level > previous;
      metrics.degradationTransitions.inc({ step: String(up ? level : previous), direction: up ? 'up' : 'down' });
    },
    'sampler.thinned': () => metrics.framesShed.inc({ reason: 'degraded_half_rate' }),
  };
}
