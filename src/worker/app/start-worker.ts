/**
 * Composition root of the worker: builds every stage from the validated config and wires them
 * together. Nothing below this file reads the environment or creates its own collaborators.
 */
import { randomBytes } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { openClassifier, type Classifier } from '../classify/index.js';
import { faceAgeFactory } from '../classify/load-face-part.js';
import type { LoadedConfig } from '../../config/index.js';
import { errorCode } from '../../domain/errors.js';
import type { Logger } from '../../domain/logger.js';
import type { ScreeningOutcome } from '../../domain/screening-outcome.js';
import type { DecisionSink, FrameSourceFactory } from '../../domain/ports.js';
import { createFileHashLists, type FileHashLists } from '../hash/file-lists.js';
import { createHashMatcher, type HashMatcherService } from '../hash/hash-matcher.js';
import { createHashListSync, type HashListSync } from '../hash/object-store-sync.js';
import { createPdqHasher } from '../hash/pdq-hasher.js';
import { createIngest, defaultWorkerId, type Ingest, type ScreeningAssignment } from '../intake/index.js';
import { createMetrics, type Metrics } from '../../metrics/metrics.js';
import { startMetricsServer, type MetricsServer } from '../../metrics/server.js';
import { createStreamScreener, type StreamScreener, type StreamScreenerOptions } from '../pipeline/stream-screener.js';
import type { PolicyOptions } from '../policy/index.js';
import { createDecisionPublisher, type DecisionPublisher } from '../publish/index.js';
import { createSampler, resolveFfmpeg, type FfmpegBinary } from '../sampler/index.js';

/** The stages shared by the worker and `streamscreen screen`. */
export interface ScreeningStages {
  readonly ffmpeg: FfmpegBinary;
  readonly matcher: HashMatcherService;
  readonly fileLists: FileHashLists;
  readonly classifier?: Classifier;
  readonly openSource: FrameSourceFactory;
  close(): Promise<void>;
}

export function policyOptions(config: LoadedConfig['config']): PolicyOptions {
  return { ...config.policy };
}

export function screenerOptions(config: LoadedConfig['config']): StreamScreenerOptions {
  return {
    frameBudgetMs: config.pipeline.frameBudgetMs,
    classifierFailuresToReport: config.pipeline.classifierFailuresToReport,
    dihedral: config.hash.dihedral,
  };
}

/**
 * Loads hash lists (all or nothing: a bad list refuses start-up with its file and line), finds
 * ffmpeg, and warms the classifiers up, in that order of cost.
 */
export async function buildScreeningStages(loaded: LoadedConfig, logger: Logger, metrics: Metrics): Promise<ScreeningStages> {
  const { config } = loaded;
  const ffmpeg = await resolveFfmpeg({ envPath: loaded.ffmpeg.envPath, pathEnv: loaded.ffmpeg.pathEnv, logger });

  const matcher = createHashMatcher({ maxDistance: config.hash.maxDistance, minQuality: config.hash.minQuality });
  const fileLists = createFileHashLists({ sink: matcher.source('files'), lists: config.hash.lists, logger });
  await fileLists.load();

  let classifier: Classifier | undefined;
  if (config.classify.enabled) {
    classifier = await openClassifier({
      logger,
      ...(config.classify.faces ? { faceAge: faceAgeFactory } : {}),
      options: {
        ...(config.classify.manifestPath ? { manifestPath: config.classify.manifestPath } : {}),
        intraOpThreads: config.classify.intraOpThreads,
        maxBatch: config.classify.maxBatch,
        custom: config.classify.custom,
      },
    });
    logger.info({ models: classifier.models, faces: classifier.faces }, 'classifiers ready');
  }

  const s = config.sampler;
  const openSource: FrameSourceFactory = ({ streamId, url, signal }) =>
    createSampler({
      url,
      streamId,
      // The sampler stops on abort even while connecting, stalled or backing off, when no frame
      // arrives to let the screener notice.
      signal,
      ffmpeg,
      logger: logger.child({ streamId }),
      options: {
        fps: s.fps,
        width: s.width,
        height: s.height,
        scaleMode: s.scaleMode,
        allowFiles: s.allowFiles,
        rwTimeoutMs: s.rwTimeoutMs,
        stallTimeoutMs: s.stallTimeoutMs,
        maxRestarts: s.maxRestarts,
        backoffBaseMs: s.backoffBaseMs,
        backoffMaxMs: s.backoffMaxMs,
      },
      events: {
        onRestart: ({ error }) => metrics.sourceRestarts.inc({ code: error.code }),
        onDrop: () => metrics.framesShed.inc({ reason: 'sampler_queue_full' }),
        onFailed: (error) => metrics.errors.inc({ code: errorCode(error) }),
      },
    });

  return {
    ffmpeg,
    matcher,
    fileLists,
    classifier,
    openSource,
    close: async () => {
      await classifier?.close();
    },
  };
}

export function sinkFor(publisher: DecisionPublisher): DecisionSink {
  return {
    killSwitch: async (event, signal) => void (await publisher.publishKillSwitch(event, { signal })),
    escalation: async (event, signal) => void (await publisher.publishEscalation(event, { signal })),
    failure: async (event, signal) => void (await publisher.publishFailure(event, { signal })),
  };
}

export interface Worker {
  readonly workerId: string;
  readonly metricsPort?: number;
  ready(): { ready: boolean; reasons: string[] };
  /** Re-reads the hash list files (SIGHUP); a bad file keeps the old version serving. */
  reloadLists(): Promise<void>;
  /**
   * Two-stage shutdown: stop taking streams and let in-flight frames finish for `graceMs`, then
   * hand every held stream back (nak, lease released) so another worker takes it at once.
   */
  stop(graceMs?: number): Promise<void>;
}

export async function startWorker(loaded: LoadedConfig, logger: Logger): Promise<Worker> {
  const { config } = loaded;
  const metrics = createMetrics();
  // Every resource opened so far, closed in reverse if start-up fails part-way: a worker that
  // cannot start must exit, not hang on a reconnecting NATS connection or warm ONNX sessions.
  const opened: Array<() => Promise<unknown>> = [];
  const workerId = newWorkerId(config);
  try {
    const stages = await buildScreeningStages(loaded, logger, metrics);
    opened.push(() => stages.close());
    const hasher = createPdqHasher();

    const nc: NatsConnection = await connect({
      servers: config.nats.url,
      name: `${config.nats.name}-${workerId}`,
      // A worker outlives NATS restarts: it reconnects forever and its publishes retry until acked.
      maxReconnectAttempts: -1,
    });
    opened.push(() => nc.close());
    const connection = trackConnection(nc, logger);

    const publisher = createDecisionPublisher({
      js: jetstream(nc),
      logger,
      options: { retryInitialDelayMs: config.publish.retryBaseMs, retryMaxDelayMs: config.publish.retryMaxMs },
    });
    await publisher.provision();

    let sync: HashListSync | undefined;
    if (config.hash.objectStore.enabled) {
      const s = createHashListSync({
        nc,
        sink: stages.matcher.source('nats'),
        logger,
        bucket: config.hash.objectStore.bucket,
        resyncIntervalMs: config.hash.objectStore.resyncIntervalMs,
        ...(config.hash.objectStore.lists ? { lists: config.hash.objectStore.lists } : {}),
        onEvent: (e) => {
          if (e.type === 'refused') metrics.errors.inc({ code: e.error.code });
        },
      });
      opened.push(() => s.stop());
      await s.start();
      sync = s;
    }

    const screener: StreamScreener = createStreamScreener({
      workerId,
      logger,
      metrics,
      openSource: stages.openSource,
      hasher,
      matcher: stages.matcher,
      classifier: stages.classifier,
      sink: sinkFor(publisher),
      policy: policyOptions(config),
      options: screenerOptions(config),
    });

    // Intake settles the outcome (settlement.ts): a reported terminal failure is acked, a retryable one handed back.
    const onAssignment = (a: ScreeningAssignment): Promise<ScreeningOutcome> =>
      screener.screen({ start: a.start, signal: a.signal, publishSignal: a.publishSignal, runId: a.runId, assertOwned: () => a.assertOwned() });

    const ingest: Ingest = createIngest({
      nc,
      logger,
      workerId,
      publisher,
      onAssignment,
      options: {
        ackWaitMs: config.ingest.ackWaitMs,
        leaseTtlMs: config.ingest.leaseTtlMs,
        maxConcurrentStreams: config.worker.maxStreams,
      },
      events: {
        onAssigned: (e) => metrics.assignments.inc({ event: e.tookOverFrom ? 'takeover' : 'assigned' }),
        onFinished: (e) => metrics.assignments.inc({ event: e.outcome }),
        onDeadLetter: (e) => metrics.deadLetters.inc({ reason: e.reason }),
        // The dead-letter stream could not take it in time: the bad start comes back later.
        onDeadLetterDeferred: () => metrics.errors.inc({ code: 'deadletter_deferred' }),
      },
    });

    const ready = (): { ready: boolean; reasons: string[] } => {
      const reasons: string[] = [];
      if (!stages.matcher.ready) reasons.push('hash lists not loaded');
      if (sync && !sync.ready) reasons.push('object-store hash lists not loaded');
      if (stages.classifier && !stages.classifier.ready) reasons.push('classifiers not warmed up');
      if (!connection.connected()) reasons.push('NATS disconnected');
      const intake = ingest.healthy();
      if (!intake.ok) reasons.push(...intake.reasons);
      metrics.ready.set(reasons.length ? 0 : 1);
      return { ready: reasons.length === 0, reasons };
    };

    // Metrics before intake: once streams are taken, the worker must be observable, and a taken
    // metrics port should fail the start before any stream is held.
    let server: MetricsServer | undefined;
    if (config.metrics.enabled) {
      const srv = await startMetricsServer({
        registry: metrics.registry,
        host: config.metrics.host,
        port: config.metrics.port,
        health: { live: () => !nc.isClosed(), ready },
      });
      opened.push(() => srv.close());
      server = srv;
      logger.info({ port: srv.port }, 'metrics at /metrics, /healthz, /readyz');
    }

    opened.push(() => ingest.stop({ graceMs: 0 }));
    await ingest.start();
    ready();
    logger.info({ workerId, nats: config.nats.url, lists: stages.matcher.lists().map((l) => ({ id: l.id, count: l.count })) }, 'worker started');

    let stopping: Promise<void> | undefined;
    return {
      workerId,
      metricsPort: server?.port,
      ready,
      reloadLists: async () => {
        const report = await stages.fileLists.reload();
        for (const f of report.failed) metrics.errors.inc({ code: f.error.code });
        logger.info({ loaded: report.loaded, unchanged: report.unchanged, failed: report.failed.map((f) => f.error.message) }, 'hash lists reloaded');
      },
      stop: (graceMs = config.worker.shutdownGraceMs) =>
        (stopping ??= (async () => {
          logger.info({ graceMs }, 'worker stopping: handing streams back');
          await ingest.stop({ graceMs });
          await sync?.stop();
          await stages.close();
          await server?.close();
          await nc.drain().catch(() => undefined);
          logger.info('worker stopped');
        })()),
    };
  } catch (err) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
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

/** Connected/disconnected as the client reports it; a reconnecting client is not ready. */
function trackConnection(nc: NatsConnection, logger: Logger): { connected(): boolean } {
  let connected = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        connected = false;
        logger.warn('NATS disconnected: not ready until reconnected');
      } else if (s.type === 'reconnect') {
        connected = true;
        logger.info('NATS reconnected');
      }
    }
  })().catch(() => undefined);
  return { connected: () => connected && !nc.isClosed() };
}
