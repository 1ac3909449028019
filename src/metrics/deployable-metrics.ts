import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The bridge's metrics: hook answers by ingest kind and outcome, their latency, the outbox. */
export interface BridgeMetrics {
  readonly registry: Registry;
  readonly hooks: Counter<'kind' | 'outcome'>;
  readonly hookLatency: Histogram<'kind'>;
  readonly outboxBatches: Gauge;
  readonly ready: Gauge;
}

/** The enforcer's metrics: actions by kind and result, decision-to-drop time. */
export interface EnforcerMetrics {
  readonly registry: Registry;
  readonly actions: Counter<'action' | 'result'>;
  readonly enforceLatency: Histogram;
  readonly ready: Gauge;
}

/** Hook answers must stay within the ingest's patience: the interesting range is 1 ms to 1 s. */
const HOOK_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1];
/** Decision to confirmed drop: the promise is seconds. */
const ENFORCE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30];

function registryWithDefaults(defaults: boolean): Registry {
  const registry = new Registry();
  if (defaults) collectDefaultMetrics({ register: registry, prefix: 'streamscreen_' });
  return registry;
}

export function createBridgeMetrics(options: { defaultMetrics?: boolean } = {}): BridgeMetrics {
  const registry = registryWithDefaults(options.defaultMetrics ?? true);
  const registers = [registry];
  return {
    registry,
    hooks: new Counter({
      name: 'streamscreen_bridge_hooks_total',
      help: 'Ingest hook calls answered, by ingest kind and outcome (allowed, queued, blocked, unavailable, invalid, unauthorized, ended, other)',
      labelNames: ['kind', 'outcome'],
      registers,
    }),
    hookLatency: new Histogram({
      name: 'streamscreen_bridge_hook_seconds',
      help: 'Time to answer an ingest hook call',
      labelNames: ['kind'],
      buckets: HOOK_BUCKETS,
      registers,
    }),
    outboxBatches: new Gauge({
      name: 'streamscreen_bridge_outbox_batches',
      help: 'Hook calls whose events wait in the outbox for NATS',
      registers,
    }),
    ready: new Gauge({ name: 'streamscreen_ready', help: '1 when ready', registers }),
  };
}

export function createEnforcerMetrics(options: { defaultMetrics?: boolean } = {}): EnforcerMetrics {
  const registry = registryWithDefaults(options.defaultMetrics ?? true);
  const registers = [registry];
  return {
    registry,
    actions: new Counter({
      name: 'streamscreen_enforcer_actions_total',
      help: 'Enforcement actions by kind (disconnect, block, unblock, skip) and result (done, already_gone, failed, skipped)',
      labelNames: ['action', 'result'],
      registers,
    }),
    enforceLatency: new Histogram({
      name: 'streamscreen_enforcer_decision_to_drop_seconds',
      help: "Time from the worker's kill-switch decision to the ingest's confirmed drop",
      buckets: ENFORCE_BUCKETS,
      registers,
    }),
    ready: new Gauge({ name: 'streamscreen_ready', help: '1 when ready', registers }),
  };
}
