/**
 * The bridge's lifecycle: outbox, NATS, buckets, block follower, hook server, metrics; stopped in
 * reverse. Nothing here reads the environment.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { LoadedConfig } from '../config/index.js';
import { createHooks } from '../domain/hooks.js';
import type { Logger } from '../domain/logger.js';
import { readiness } from '../domain/readiness.js';
import { createBridgeMetrics } from '../metrics/deployable-metrics.js';
import { startMetricsServerIf } from '../metrics/server.js';
import { connectNats, createDurablePublisher, watchConnection } from '../nats/index.js';
import { followBlocks } from './block-follower.js';
import type { BridgeEvents } from './events.js';
import { ensureBridgeBuckets } from './kv-buckets.js';
import { openFileOutbox } from './outbox.js';
import { createReplayGuard } from './replay-guard.js';
import { buildBridgeServer } from './server.js';
import { createBridge } from './service.js';

export interface RunningBridge {
  /** The hook listener's port (useful with port 0). */
  readonly port: number;
  readonly metricsPort?: number;
  ready(): { ready: boolean; reasons: string[] };
  stop(): Promise<void>;
}

export async function startBridge(loaded: LoadedConfig, logger: Logger, options: { cwd?: string } = {}): Promise<RunningBridge> {
  const { config } = loaded;
  const b = config.bridge;
  if (config.ingests.length === 0) logger.warn('no ingests configured: every hook call will be answered 404');
  const metrics = createBridgeMetrics();
  const events = createHooks<BridgeEvents>(logger, {
    hook: ({ kind, outcome, seconds }) => {
      metrics.hooks.inc({ kind, outcome });
      metrics.hookLatency.observe({ kind }, seconds);
    },
    outbox: ({ batches }) => metrics.outboxBatches.set(batches),
  });
  const closers: Array<() => unknown> = [];
  const close = async () => {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch((err: unknown) => logger.warn({ err }, 'close failed'));
  };
  try {
    const outbox = await openFileOutbox(resolve(options.cwd ?? process.cwd(), b.outboxDir));
    if (outbox.size) logger.warn({ batches: outbox.size }, 'outbox holds events from an earlier run; sending them first');
    const nc = await connectNats(loaded.nats, logger, { instance: `bridge-${hostname()}-${process.pid}` });
    closers.push(() => nc.drain().catch(() => nc.close()));
    const connection = watchConnection(nc, logger);
    const js = jetstream(nc);
    const { blocks: blocksKv } = await ensureBridgeBuckets(js, b.recordTtlMs, logger);
    const blocks = await followBlocks(blocksKv, logger);
    closers.push(() => blocks.stop());
    const publisher = createDurablePublisher({
      js,
      logger,
      settings: { timeoutMs: b.natsTimeoutMs, retryInitialDelayMs: Math.min(50, b.natsTimeoutMs), retryMaxDelayMs: b.outboxRetryMs },
    });
    const send = async (e: { subject: string; type: string; eventId: string; payload: string }, signal?: AbortSignal) => {
      await publisher.publishRaw(e.subject, e.type, e.eventId, e.payload, signal ? { signal } : {});
    };
    const bridge = createBridge({ failMode: b.failMode, natsTimeoutMs: b.natsTimeoutMs, send, outbox, blocks, logger, events });

    // The outbox is retried while it holds anything; each batch's entries dedupe by Nats-Msg-Id.
    const drainer = setInterval(() => {
      if (!outbox.size) return;
      void outbox
        .drain((e) => send(e, AbortSignal.timeout(Math.max(b.natsTimeoutMs, 2_000))))
        .then(({ left, error }) => {
          events.emit('outbox', { batches: left });
          if (error) logger.warn({ err: error, left }, 'outbox not drained yet');
          else logger.info('outbox drained');
        });
    }, b.outboxRetryMs);
    closers.push(() => clearInterval(drainer));

    const server = await buildBridgeServer({
      ingests: config.ingests,
      bridge,
      replay: createReplayGuard(b.signatureToleranceMs),
      signatureToleranceMs: b.signatureToleranceMs,
      bodyLimitBytes: b.bodyLimitBytes,
      logger,
      events,
    });
    await server.listen({ host: b.host, port: b.port });
    closers.push(() => server.close());
    const address = server.server.address();
    const port = typeof address === 'object' && address ? address.port : b.port;

    // Fail-open keeps answering hooks through a NATS outage, so it stays ready (taking it out of
    // the load balancer would make the ingest drop every publisher); fail-closed refuses anyway.
    const ready = () => {
      const r = readiness({
        blocks: { ok: blocks.loaded, detail: 'not loaded yet' },
        nats: { ok: b.failMode === 'open' || connection.connected(), detail: 'disconnected' },
      });
      metrics.ready.set(r.ready ? 1 : 0);
      return r;
    };
    const metricsServer = await startMetricsServerIf(config.metrics, metrics.registry, { live: () => !nc.isClosed(), ready });
    if (metricsServer) closers.push(() => metricsServer.close());
    logger.info(
      {
        host: b.host,
        port,
        failMode: b.failMode,
        ingests: config.ingests.map((i) => `${i.id} (${i.kind})`),
        metricsPort: metricsServer?.port,
      },
      'bridge listening for ingest hooks at /hooks/<ingest id>',
    );
    return { port, metricsPort: metricsServer?.port, ready, stop: close };
  } catch (err) {
    await close();
    throw err;
  }
}
