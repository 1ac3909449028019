/**
 * The worker's lifecycle: opens its resources in order (stages, NATS, publisher, hash-list sync,
 * metrics, intake) on one resource stack, reports readiness from named checks, and shuts down in
 * two stages. What each stage is made of lives in stages.ts; nothing here reads the environment.
 */
import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, openKv, watchConnection } from '../../nats/index.js';
import { redactUrl } from '../../domain/redact.js';
import type { LoadedConfig } from '../../config/index.js';
import { createHooks, type Listeners } from '../../domain/hooks.js';
import type { Logger } from '../../domain/logger.js';
import { createMetrics } from '../../metrics/metrics.js';
import { startMetricsServerIf } from '../../metrics/server.js';
import type { WorkerEvents } from '../events.js';
import { createHashListSync, type HashListSync } from '../../hash/object-store-sync.js';
import { createQuarantineGate, type QuarantineGate } from '../../hash/quarantine.js';
import { createKvQuarantineStore, openQuarantineBucket } from '../../hash/quarantine-kv.js';
import { createCapacityGovernor } from '../capacity/index.js';
import { createIngest, defaultWorkerId } from '../intake/index.js';
import {
  createDecisionPublisher,
  createDecisionRecorder,
  createOutbox,
  createOutboxStore,
  createStreamMemory,
  ensurePolicyStateBucket,
} from '../publish/index.js';
import type { CooldownState } from '../policy/index.js';
import { parsePolicyState } from './policy-state.js';
import { shutdownWithin } from './shutdown.js';
import { createCasePublisher } from '../cases/case-publisher.js';
import { openCaseStore } from '../cases/case-store.js';
import { openEvidenceBuckets } from '../evidence/buckets.js';
import { createEvidenceStore } from '../evidence/evidence-store.js';
import { openHashListBucket } from '../../hash/object-store-lists.js';
import { createLiveRegistry, startDecisionApplier } from '../review/decision-applier.js';
import { createListEditor } from '../review/list-editor.js';
import type { EvidenceStore, HashListEditor } from '../../domain/ports.js';
import { encodeEvent } from '../../domain/encode-event.js';
import type { DecisionSink } from '../../domain/ports.js';
import { onAssignmentFor } from './assignment.js';
import { readiness, type Readiness } from '../../domain/readiness.js';
import { createResourceStack } from './resources.js';
import { buildScreeningStages, createScreener } from './stages.js';
import { workerMetricsListeners } from './worker-metrics.js';

export interface Worker {
  readonly workerId: string;
  readonly metricsPort?: number;
  ready(): Readiness;
  /** Re-reads the hash list files (SIGHUP); a bad file keeps the old version serving. */
  reloadLists(): Promise<void>;
  /**
   * Shutdown within worker.shutdownTimeoutMs, NATS reachable or not: stop taking streams and let
   * in-flight frames finish for `graceMs`, hand every held stream back (nak, lease released) so
   * another worker takes it at once, publish what the outbox holds while time is left (the rest
   * stays on disk for the next start), close. Resolves false when the deadline cut it short.
   */
  stop(graceMs?: number): Promise<boolean>;
}

export interface StartWorkerOptions {
  /** More observers of the worker's events beside its metrics (the benign evaluation records per-frame scores). */
  readonly listeners?: Listeners<WorkerEvents>;
}

export async function startWorker(loaded: LoadedConfig, logger: Logger, options: StartWorkerOptions = {}): Promise<Worker> {
  const { config } = loaded;
  const metrics = createMetrics();
  const events = createHooks<WorkerEvents>(logger, workerMetricsListeners(metrics), ...(options.listeners ? [options.listeners] : []));
  // Measured admission and graceful degradation: it hears every decided frame through the events.
  const governor = createCapacityGovernor({
    options: loaded.stages.capacity,
    frameBudgetMs: loaded.stages.screener.frameBudgetMs,
    logger,
    events,
  });
  events.on(governor.listeners);
  metrics.admissionState.set({ state: 'admitting' }, 1);
  // A worker that cannot start must exit, not hang on a reconnecting NATS connection or warm
  // ONNX sessions: everything opened so far closes in reverse if start-up fails part-way.
  const resources = createResourceStack();
  const workerId = newWorkerId(config);
  try {
    const stages = resources.push(
      'stages',
      await buildScreeningStages(loaded, logger, events, {
        // One view, two readers: samplers (keyframes only, half rate) and the inference scheduler
        // (classifiers off for the lowest-risk streams).
        pressure: governor.degradation,
        degradation: governor.degradation,
      }),
      (s) => s.close(),
    );
    governor.start();
    resources.push('capacity governor', governor, (g) => g.stop());

    const nc: NatsConnection = resources.push(
      'nats',
      // A worker outlives NATS restarts: it reconnects forever and its publishes retry until acked.
      await connectNats(loaded.nats, logger, { instance: workerId }),
      // Drain while NATS answers; a drain waiting on a server that is gone must not hold the exit.
      (c) => closeNats(c, loaded.stages.ingest.requestTimeoutMs),
    );

    const publisher = createDecisionPublisher({
      js: jetstream(nc),
      logger,
      events,
      options: loaded.stages.publisher,
    });
    await publisher.provision();
    const js = jetstream(nc);
    const casePublisher = createCasePublisher({ js, logger, options: loaded.stages.review, publish: loaded.stages.publisher });
    if (loaded.stages.review.provision) await casePublisher.provision();
    const caseStore = await openCaseStore(js, loaded.stages.review);
    const evidenceOptions = loaded.stages.evidence;
    let evidence: EvidenceStore | undefined;
    if (evidenceOptions.enabled) {
      evidence = createEvidenceStore({ buckets: await openEvidenceBuckets(js, evidenceOptions, logger), options: evidenceOptions });
    } else {
      // Never stored unencrypted: without a key, cases go out without a storyboard.
      logger.warn(
        { enabled: config.evidence.enabled },
        'evidence is not stored (evidence.enabled is off or no evidence.keys is configured): cases carry no storyboard',
      );
    }
    const lists: HashListEditor | undefined = config.hash.objectStore.enabled
      ? createListEditor({
          // Not created here: the bucket is the list publisher's (the reference NATS permissions let workers only read it).
          lists: () => openHashListBucket(nc, config.hash.objectStore.bucket, { create: false }),
          locks: caseStore.kv,
          staleMs: loaded.stages.review.listLockStaleMs,
          holder: workerId,
        })
      : undefined;
    const live = createLiveRegistry();

    // Closed before the connection (the stack closes in reverse): it must stop publishing before
    // the connection goes, or it would take the closing connection for a refusal.
    const outbox = resources.push(
      'outbox',
      createOutbox({
        store: createOutboxStore({ dir: loaded.stages.outbox.dir, fsync: loaded.stages.outbox.fsync, logger }),
        publish: (subject, type, eventId, payload, opts) => publisher.publishRecorded(subject, type, eventId, payload, opts),
        logger,
        limits: loaded.stages.outbox,
        events,
      }),
      (o) => o.close(),
    );
    await outbox.open();
    outbox.start();
    const recorder = createDecisionRecorder(publisher, outbox);
    const connection = watchConnection(nc, logger, (connected) => {
      // Whatever waits in the outbox goes now, not after its retry backoff.
      if (connected) outbox.wake();
    });

    const policyState = createStreamMemory<CooldownState>({
      kv: await ensurePolicyStateBucket(jetstream(nc, { timeout: loaded.stages.ingest.requestTimeoutMs }), loaded.stages.publisher, logger),
      logger,
      parse: parsePolicyState,
      readTimeoutMs: loaded.stages.ingest.requestTimeoutMs,
    });

    let sync: HashListSync | undefined;
    if (config.hash.objectStore.enabled) {
      sync = resources.push(
        'hash-list sync',
        createHashListSync({
          nc,
          sink: stages.matcher.source('nats'),
          logger,
          events,
          ...loaded.stages.hashListSync,
        }),
        (s) => s.stop(),
      );
      await sync.start();
    }

    let gate: QuarantineGate | undefined;
    const q = config.hash.quarantine;
    if (q.enabled) {
      const kv = await openQuarantineBucket(nc, q.bucket);
      gate = resources.push(
        'quarantine',
        createQuarantineGate({
          store: createKvQuarantineStore(kv),
          options: loaded.stages.quarantine,
          workerId,
          logger,
        }),
        (g) => g.stop(),
      );
      await gate.start();
    }

    // Case events go through the outbox like every decision, after the kill-switch recorded before them.
    const sink: DecisionSink = {
      ...recorder,
      caseEvent: (e) => outbox.record(casePublisher.caseSubject(e), e, encodeEvent(e).payload),
    };
    const screener = createScreener(loaded, stages, {
      workerId,
      logger,
      events,
      sink,
      policyState,
      cases: caseStore,
      evidence,
      lists,
      live,
      ...(gate ? { gate } : {}),
    });
    const ingest = createIngest({
      nc,
      logger,
      workerId,
      // Failure reports go through the outbox like every decision; dead letters are stored while
      // their message is held, so they need none.
      publisher: { publishFailure: (e) => recorder.failure(e), publishDeadLetter: (e, o) => publisher.publishDeadLetter(e, o) },
      events,
      onAssignment: onAssignmentFor(screener),
      options: loaded.stages.ingest,
      capacity: governor,
    });

    // Disconnected, a read would wait out its request timeout and hold up the scrape; the gauges
    // keep their last value and streamscreen_nats_connected says why.
    metrics.setStartsWaitingSource(() => (connection.connected() ? ingest.waitingStarts() : Promise.resolve(undefined)));

    const ready = (): Readiness => {
      const intake = ingest.healthy();
      const r = readiness({
        'hash lists': stages.matcher.ready,
        ...(sync ? { 'object-store hash lists': sync.ready } : {}),
        ...(gate ? { 'quarantine state': gate.ready } : {}),
        ...(stages.classifier ? { classifiers: stages.classifier.ready } : {}),
        nats: { ok: connection.connected(), detail: 'disconnected' },
        intake: { ok: intake.ok, detail: intake.reasons },
        outbox: outbox.health(),
      });
      return r;
    };
    metrics.streamCapacity.set(config.worker.maxStreams);
    metrics.frameBudget.set(config.pipeline.frameBudgetMs / 1000);
    metrics.observe({
      ready: () => ready().ready,
      natsConnected: () => connection.connected(),
      startsOldestWaitingSeconds: async () => (connection.connected() ? (await ingest.startsBacklog()).oldestWaitingSeconds : undefined),
    });

    // Metrics before intake: once streams are taken, the worker must be observable, and a taken
    // metrics port should fail the start before any stream is held.
    const server = await startMetricsServerIf(config.metrics, metrics.registry, { live: () => !nc.isClosed(), ready });
    if (server) {
      resources.push('metrics server', server, (s) => s.close());
      logger.info({ port: server.port }, 'metrics at /metrics, /healthz, /readyz');
    }

    resources.push('intake', ingest, (i) => i.stop({ graceMs: 0 }));
    await ingest.start();
    // After intake: the lease bucket it provisions tells which streams another worker holds.
    resources.push(
      'review decisions',
      await startDecisionApplier({
        js,
        logger,
        workerId,
        options: loaded.stages.review,
        policy: loaded.stages.policy,
        registry: live,
        leases: await openKv(js, loaded.stages.ingest.leaseBucket),
        cases: caseStore,
        publisher: casePublisher,
        sink,
        ...(lists ? { lists } : {}),
        deadLetter: (e) => publisher.publishDeadLetter(e),
        events,
      }),
      (c) => c.stop(),
    );
    logger.info(
      {
        workerId,
        nats: loaded.nats.servers.map((s) => redactUrl(s)),
        lists: stages.matcher.lists().map((l) => ({ id: l.id, count: l.count })),
      },
      'worker started',
    );

    let stopping: Promise<boolean> | undefined;
    return {
      workerId,
      metricsPort: server?.port,
      ready,
      reloadLists: async () => {
        const report = await stages.fileLists.reload();
        for (const f of report.failed) metrics.errors.inc({ code: f.error.code });
        logger.info(
          { loaded: report.loaded, unchanged: report.unchanged, failed: report.failed.map((f) => f.error.message) },
          'hash lists reloaded',
        );
      },
      stop: (graceMs = config.worker.shutdownGraceMs) =>
        (stopping ??= shutdownWithin(config.worker.shutdownTimeoutMs, logger, {
          // Stage one and two of the shutdown are intake's.
          handBack: () => ingest.stop({ graceMs }),
          cutShort: () => void ingest.stop({ graceMs: 0 }),
          flush: (signal) => outbox.flush(signal),
          pending: () => ({ outbox: outbox.depth, streams: ingest.activeStreams }),
          // The rest closes in reverse opening order (the outbox before the connection).
          close: () => resources.close(),
          forceClose: () => nc.close(),
        })),
    };
  } catch (err) {
    await resources.close().catch((closeErr: unknown) => logger.warn({ err: closeErr }, 'closing after a failed start'));
    throw err;
  }
}

/**
 * The lease identity of this process. A configured id is a prefix: replicas sharing one config
 * file must still never share an identity, or two of them would screen the same stream.
 */
function newWorkerId(config: LoadedConfig['config']): string {
  return config.worker.id ? `${config.worker.id}-${randomBytes(3).toString('hex')}` : defaultWorkerId();
}

/** Drains the connection, or closes it when the drain does not finish in time (NATS unreachable). */
async function closeNats(nc: NatsConnection, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const drained = await Promise.race([
    nc.drain().then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (!drained) await nc.close();
}
