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
  readonly activeStreams: Gauge;
  /** Streams taken (`assigned`, `takeover`) and finished, by outcome (ended, lease_lost, failed...). */
  readonly assignments: Counter<'event'>;
  readonly deadLetters: Counter<'reason'>;
  readonly ready: Gauge;
}

/** Latency buckets around the per-frame budget: the interesting region is 10 ms to 2 s. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2, 5];

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'streamscreen_' });
  const registers = [registry];
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
  };
}
