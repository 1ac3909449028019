import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the worker exports, created once per process and handed to the stages.
 * Label values are stable codes (error codes, decision kinds), never ids, to keep cardinality flat.
 */
export interface Metrics {
  readonly registry: Registry;
  readonly framesReceived: Counter<'source'>;
  /** Frames not fully screened, by reason; load shedding is counted here, never silent. */
  readonly framesShed: Counter<'reason'>;
  readonly frameLatency: Histogram<'stage'>;
  /** Frames fully screened but decided later than the budget (capacity warning, nothing skipped). */
  readonly framesOverBudget: Counter;
  readonly decisions: Counter<'kind' | 'shadow'>;
  readonly hashMatches: Counter<'list'>;
  readonly errors: Counter<'code'>;
  readonly sourceRestarts: Counter<'code'>;
  /** Connections the egress proxy did not make for ffmpeg (refused by the source policy, or TLS unverified). */
  readonly egressBlocked: Counter<'kind'>;
  readonly activeStreams: Gauge;
  /** Streams taken (`assigned`, `takeover`) and finished, by outcome (ended, lease_lost, failed...). */
  readonly assignments: Counter<'event'>;
  readonly deadLetters: Counter<'reason'>;
  readonly ready: Gauge;
  /** 1 while connected to NATS, 0 while the client is reconnecting. */
  readonly natsConnected: Gauge;
  /** Decisions recorded and not yet acked by JetStream. */
  readonly outboxDepth: Gauge;
  readonly outboxBytes: Gauge;
  /** maxEntries: alerts compare the depth with it. */
  readonly outboxCapacity: Gauge;
  /** Record time of the oldest pending decision (0 when none), for age alerts: time() - this. */
  readonly outboxOldest: Gauge;
  /** What happened to decisions in the outbox (recorded, published, replayed, overflow, write_failed, rejected). */
  readonly outboxEvents: Counter<'event'>;
  /** Lease entries out of step (revision_mismatch, vanished, inconsistent) and flapping streams. */
  readonly leaseAnomalies: Counter<'kind'>;
  /** Sources gone after the sampler's retries and probed again (`waiting`), or given up at the horizon (`gave_up`). */
  readonly sourceProbes: Counter<'event'>;
  /** Stream starts that no worker has taken yet: live streams nobody screens. Read when scraped. */
  readonly startsWaiting: Gauge;
  /** Where startsWaiting is read from (the worker's intake); until set, the gauge is not updated. */
  setStartsWaitingSource(read: () => Promise<number | undefined>): void;
}

/** Latency buckets around the per-frame budget: the interesting region is 10 ms to 2 s. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2, 5];

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'streamscreen_' });
  const registers = [registry];
  let startsWaitingSource: (() => Promise<number | undefined>) | undefined;
  return {
    registry,
    framesReceived: new Counter({ name: 'streamscreen_frames_total', help: 'Frames read from ffmpeg', labelNames: ['source'], registers }),
    framesShed: new Counter({
      name: 'streamscreen_frames_shed_total',
      help: 'Frames skipped or screened partially to stay within the latency budget, by reason',
      labelNames: ['reason'],
      registers,
    }),
    frameLatency: new Histogram({
      name: 'streamscreen_frame_latency_seconds',
      help: 'Time from a frame leaving ffmpeg to the end of each stage (decision = whole frame)',
      labelNames: ['stage'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    framesOverBudget: new Counter({
      name: 'streamscreen_frames_over_budget_total',
      help: 'Frames fully screened whose capture-to-decision time exceeded the per-frame budget',
      registers,
    }),
    decisions: new Counter({
      name: 'streamscreen_decisions_total',
      help: 'Decisions published, by kind (killswitch, escalation, failure)',
      labelNames: ['kind', 'shadow'],
      registers,
    }),
    hashMatches: new Counter({
      name: 'streamscreen_hash_matches_total',
      help: 'Frame hashes that matched a list',
      labelNames: ['list'],
      registers,
    }),
    errors: new Counter({ name: 'streamscreen_errors_total', help: 'Errors by stable error code', labelNames: ['code'], registers }),
    sourceRestarts: new Counter({
      name: 'streamscreen_source_restarts_total',
      help: 'ffmpeg restarts by cause',
      labelNames: ['code'],
      registers,
    }),
    egressBlocked: new Counter({
      name: 'streamscreen_egress_blocked_total',
      help: 'Connections a stream source asked for and the egress proxy refused (kind: refused by policy, tls unverified)',
      labelNames: ['kind'],
      registers,
    }),
    assignments: new Counter({
      name: 'streamscreen_assignments_total',
      help: 'Streams taken (assigned, takeover) and finished (by outcome) by this worker',
      labelNames: ['event'],
      registers,
    }),
    deadLetters: new Counter({
      name: 'streamscreen_dead_letters_total',
      help: 'Inbound events dead-lettered, by reason',
      labelNames: ['reason'],
      registers,
    }),
    activeStreams: new Gauge({ name: 'streamscreen_active_streams', help: 'Streams this worker is screening now', registers }),
    ready: new Gauge({ name: 'streamscreen_ready', help: '1 once hash lists and models are loaded and NATS is connected', registers }),
    natsConnected: new Gauge({ name: 'streamscreen_nats_connected', help: '1 while connected to NATS, 0 while reconnecting', registers }),
    outboxDepth: new Gauge({
      name: 'streamscreen_outbox_depth',
      help: 'Decisions recorded in the local outbox and not yet acked by JetStream',
      registers,
    }),
    outboxBytes: new Gauge({ name: 'streamscreen_outbox_bytes', help: 'Bytes of the decisions waiting in the outbox', registers }),
    outboxCapacity: new Gauge({
      name: 'streamscreen_outbox_capacity',
      help: 'Decisions the outbox keeps on disk at most (outbox.maxEntries)',
      registers,
    }),
    outboxOldest: new Gauge({
      name: 'streamscreen_outbox_oldest_timestamp_seconds',
      help: 'When the oldest decision still waiting in the outbox was recorded (0 when none)',
      registers,
    }),
    outboxEvents: new Counter({
      name: 'streamscreen_outbox_events_total',
      help: 'Decisions recorded, published, replayed after a restart, kept in memory only (overflow, write_failed) or refused for good (rejected)',
      labelNames: ['event'],
      registers,
    }),
    leaseAnomalies: new Counter({
      name: 'streamscreen_lease_anomalies_total',
      help: 'Lease entries out of step with this worker (revision_mismatch, vanished, inconsistent) and streams two workers take turns on (flapping)',
      labelNames: ['kind'],
      registers,
    }),
    sourceProbes: new Counter({
      name: 'streamscreen_source_probes_total',
      help: 'Sources gone after the sampler retries, probed again (waiting) or given up at the horizon (gave_up)',
      labelNames: ['event'],
      registers,
    }),
    startsWaiting: new Gauge({
      name: 'streamscreen_starts_waiting',
      help: 'Stream starts waiting for a worker (the starts consumer pending count): live streams not being screened',
      registers,
      async collect() {
        const n = await startsWaitingSource?.().catch(() => undefined);
        if (n !== undefined) this.set(n);
      },
    }),
    setStartsWaitingSource: (read) => {
      startsWaitingSource = read;
    },
  };
}
