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
  /** Matches a negative list suppressed (`by`: the negative list). */
  readonly hashMatchesSuppressed: Counter<'list' | 'by'>;
  /** Matches of quarantined list entries (not acted on). */
  readonly hashMatchesQuarantined: Counter<'list'>;
  readonly errors: Counter<'code'>;
  readonly sourceRestarts: Counter<'code'>;
  /** Connections the egress proxy did not make for ffmpeg (refused by the source policy, or TLS unverified). */
  readonly egressBlocked: Counter<'kind'>;
  readonly activeStreams: Gauge;
  /** Streams taken (`assigned`, `takeover`) and finished, by outcome (ended, lease_lost, failed...). */
  readonly assignments: Counter<'event'>;
  readonly deadLetters: Counter<'reason'>;
  readonly ready: Gauge;
  /** Stream starts that no worker has taken yet: live streams nobody screens. Read when scraped. */
  readonly startsWaiting: Gauge;
  /** Where startsWaiting is read from (the worker's intake); until set, the gauge is not updated. */
  setStartsWaitingSource(read: () => Promise<number | undefined>): void;
  /** Age of the oldest start no worker has taken yet; 0 when none waits. Read when scraped. */
  readonly startsOldestWaiting: Gauge;
  /** 1 while the NATS connection is up, 0 while it reconnects. */
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
  /** Streams this worker may hold at once (worker.maxStreams): active / capacity is its load. */
  readonly streamCapacity: Gauge;
  /** The per-frame capture-to-decision budget (pipeline.frameBudgetMs), for dashboards and alerts. */
  readonly frameBudget: Gauge;
  /** Held streams whose source is failing right now (ffmpeg restarting, no frames): unscreened. */
  readonly sourcesDown: Gauge;
  /** Decision, failure and dead-letter publishes that were not acknowledged and are retried. */
  readonly publishRetries: Counter<'type'>;
  /** Streams by what ffmpeg decodes for them (keyframes, all). */
  readonly decodeStreams: Gauge<'mode'>;
  /** Decode-mode changes (each restarts that stream's ffmpeg), by new mode and reason. */
  readonly decodeSwitches: Counter<'to' | 'reason'>;
  /** CPU seconds of the ffmpeg decoders, by decode mode. */
  readonly decodeCpu: Counter<'mode'>;
  /**
   * Per stream, while this worker holds it (labels removed when its sampler closes, so the
   * series count follows the held streams): keyframe interval, decode mode, decode CPU.
   */
  readonly streamKeyframeInterval: Gauge<'stream'>;
  readonly streamDecodeMode: Gauge<'stream' | 'mode'>;
  readonly streamDecodeCpu: Counter<'stream'>;
  /** Whether the worker takes new streams: 1 for `admitting` or for the reason it is full (cpu, elu, breaches, degraded, cap). */
  readonly admissionState: Gauge<'state'>;
  /** Streams the measured CPU and event loop say this worker could hold (worker.maxStreams in fixed mode). */
  readonly measuredCapacity: Gauge;
  /** CPU of the worker and its ffmpeg children over the CPUs available to it (0..1, window average). */
  readonly cpuUtilisation: Gauge;
  /** CPUs available to the worker (online CPUs, or the cgroup quota when lower). */
  readonly cpusAvailable: Gauge;
  /** Event-loop utilisation of the main thread (0..1, window average). */
  readonly eventLoopUtilisation: Gauge;
  /** Share of decided frames over the budget in the breach window. */
  readonly budgetBreachRatio: Gauge;
  /** Graceful degradation: 0 normal, 1 keyframes only, 2 half frame rate, 3 classifiers off for the lowest-risk streams. */
  readonly degradationLevel: Gauge;
  /** Degradation steps entered (`up`) and left (`down`), by step. */
  readonly degradationTransitions: Counter<'step' | 'direction'>;
  /** Frames waiting for the worker's inference scheduler (one waiting frame per stream at most). */
  readonly inferenceQueueDepth: Gauge;
  /** Time a frame waited in the inference scheduler before its classification started. */
  readonly inferenceQueueWait: Histogram;
  /** Frames started together as one batch. */
  readonly inferenceBatchSize: Histogram;
  /** Time one batch's classification took. */
  readonly inferenceRun: Histogram;
  /** Streams whose classifiers are off under degradation (low-risk streams). */
  readonly degradedStreams: Gauge;
  /**
   * Values read at scrape time (readiness, connection, the oldest waiting start): the worker
   * hands their sources in once it has them. Until then the gauges report 0.
   */
  observe(probes: ScrapeProbes): void;
}

/** What the worker can say only when asked: read on every scrape. */
export interface ScrapeProbes {
  readonly ready?: () => boolean;
  readonly natsConnected?: () => boolean;
  /** One NATS round trip or two; undefined (or a failed read) leaves the gauge at its last value. */
  readonly startsOldestWaitingSeconds?: () => Promise<number | undefined>;
}

/** Latency buckets around the per-frame budget: the interesting region is 10 ms to 2 s. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2, 5];

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'streamscreen_' });
  const registers = [registry];
  let startsWaitingSource: (() => Promise<number | undefined>) | undefined;
  let probes: ScrapeProbes = {};
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
    hashMatchesSuppressed: new Counter({
      name: 'streamscreen_hash_matches_suppressed_total',
      help: 'Matches not acted on because the same frame matched a negative list (by = that list)',
      labelNames: ['list', 'by'],
      registers,
    }),
    hashMatchesQuarantined: new Counter({
      name: 'streamscreen_hash_matches_quarantined_total',
      help: 'Matches of list entries in flood quarantine (counted, not acted on)',
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
    ready: new Gauge({
      name: 'streamscreen_ready',
      help: '1 once hash lists and models are loaded and NATS is connected (read at scrape)',
      registers,
      collect() {
        if (probes.ready) this.set(probes.ready() ? 1 : 0);
      },
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
    startsOldestWaiting: new Gauge({
      name: 'streamscreen_starts_oldest_waiting_seconds',
      help: 'Age of the oldest stream start no worker has taken yet, 0 when none waits (read at scrape)',
      registers,
      async collect() {
        const seconds = await probes.startsOldestWaitingSeconds?.().catch(() => undefined);
        if (seconds !== undefined) this.set(seconds);
      },
    }),
    natsConnected: new Gauge({
      name: 'streamscreen_nats_connected',
      help: '1 while the NATS connection is up, 0 while it is reconnecting (read at scrape)',
      registers,
      collect() {
        if (probes.natsConnected) this.set(probes.natsConnected() ? 1 : 0);
      },
    }),
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
    streamCapacity: new Gauge({ name: 'streamscreen_stream_capacity', help: 'Streams this worker may screen at once', registers }),
    frameBudget: new Gauge({ name: 'streamscreen_frame_budget_seconds', help: 'Per-frame capture-to-decision budget', registers }),
    inferenceQueueDepth: new Gauge({
      name: 'streamscreen_inference_queue_depth',
      help: 'Frames waiting for the inference scheduler (at most one per stream)',
      registers,
    }),
    inferenceQueueWait: new Histogram({
      name: 'streamscreen_inference_queue_wait_seconds',
      help: 'Time a frame waited in the inference scheduler before its classification started',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    inferenceBatchSize: new Histogram({
      name: 'streamscreen_inference_batch_size',
      help: 'Frames the inference scheduler started together as one batch',
      buckets: [1, 2, 4, 8, 16],
      registers,
    }),
    inferenceRun: new Histogram({
      name: 'streamscreen_inference_run_seconds',
      help: "Time one batch's classification took",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    degradedStreams: new Gauge({
      name: 'streamscreen_degraded_streams',
      help: 'Streams whose classifiers are off under degradation (lowest-risk streams; hash screening continues)',
      registers,
    }),
    sourcesDown: new Gauge({
      name: 'streamscreen_sources_down',
      help: 'Held streams whose source is failing (ffmpeg restarting, no frames flowing)',
      registers,
    }),
    publishRetries: new Counter({
      name: 'streamscreen_publish_retries_total',
      help: 'Publishes not acknowledged by JetStream and retried, by event type',
      labelNames: ['type'],
      registers,
    }),
    decodeStreams: new Gauge({
      name: 'streamscreen_decode_streams',
      help: 'Streams by decode mode: keyframes only, or all frames (keyframes too sparse, or configured)',
      labelNames: ['mode'],
      registers,
    }),
    decodeSwitches: new Counter({
      name: 'streamscreen_decode_mode_switches_total',
      help: "Decode mode changes (each restarts the stream's ffmpeg), by new mode and reason",
      labelNames: ['to', 'reason'],
      registers,
    }),
    decodeCpu: new Counter({
      name: 'streamscreen_decode_cpu_seconds_total',
      help: 'CPU seconds used by the ffmpeg decoders, by decode mode',
      labelNames: ['mode'],
      registers,
    }),
    streamKeyframeInterval: new Gauge({
      name: 'streamscreen_stream_keyframe_interval_seconds',
      help: 'Last measured keyframe interval of each held stream',
      labelNames: ['stream'],
      registers,
    }),
    streamDecodeMode: new Gauge({
      name: 'streamscreen_stream_decode_mode',
      help: 'Decode mode of each held stream (1 for its current mode)',
      labelNames: ['stream', 'mode'],
      registers,
    }),
    streamDecodeCpu: new Counter({
      name: 'streamscreen_stream_decode_cpu_seconds_total',
      help: 'CPU seconds used by the ffmpeg decoder of each held stream',
      labelNames: ['stream'],
      registers,
    }),
    admissionState: new Gauge({
      name: 'streamscreen_admission_state',
      help: 'Whether this worker takes new streams: 1 for admitting, or for why it is full (cpu, elu, breaches, degraded, cap)',
      labelNames: ['state'],
      registers,
    }),
    measuredCapacity: new Gauge({
      name: 'streamscreen_measured_capacity_streams',
      help: 'Streams the measured CPU and event loop say this worker could hold (capped at worker.maxStreams)',
      registers,
    }),
    cpuUtilisation: new Gauge({
      name: 'streamscreen_worker_cpu_utilisation',
      help: 'CPU of the worker process tree (worker and ffmpeg children) over the CPUs available to it, or the host busy share when higher and no cgroup quota applies; window average',
      registers,
    }),
    cpusAvailable: new Gauge({
      name: 'streamscreen_worker_cpus_available',
      help: 'CPUs available to the worker (online CPUs, or the cgroup cpu.max quota when lower)',
      registers,
    }),
    eventLoopUtilisation: new Gauge({
      name: 'streamscreen_event_loop_utilisation',
      help: 'Share of time the main thread was busy, window average',
      registers,
    }),
    budgetBreachRatio: new Gauge({
      name: 'streamscreen_budget_breach_ratio',
      help: 'Share of decided frames over the per-frame budget in the breach window (frames lost count as breaches)',
      registers,
    }),
    degradationLevel: new Gauge({
      name: 'streamscreen_degradation_level',
      help: 'Graceful degradation: 0 normal, 1 keyframes only, 2 half frame rate, 3 classifiers off for the lowest-risk streams',
      registers,
    }),
    degradationTransitions: new Counter({
      name: 'streamscreen_degradation_transitions_total',
      help: 'Degradation steps entered (direction=up) and left (direction=down), by step',
      labelNames: ['step', 'direction'],
      registers,
    }),
    observe(p) {
      probes = { ...probes, ...p };
    },
  };
}
