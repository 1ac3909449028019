/**
 * The enforcer's lifecycle: NATS, audit stream, buckets, the durable kill-switch consumer, the
 * block sweeper and metrics; stopped in reverse. Nothing here reads the environment.
 */
import { hostname } from 'node:os';
import { AckPolicy, DeliverPolicy, JetStreamApiCodes, ReplayPolicy, jetstream } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { LoadedConfig } from '../config/index.js';
import {
  SUBJECTS,
  subjectFor,
  type BlockRecord,
  type KillSwitchEvent,
  type PublisherRecord,
  type ReviewDecision,
} from '../contracts/index.js';
import { BlockRecordSchema, EnforcementActionSchema, PublisherRecordSchema } from '../contracts/index.js';
import { z } from 'zod';
import { createHooks } from '../domain/hooks.js';
import type { Logger } from '../domain/logger.js';
import { readiness } from '../domain/readiness.js';
import { sleep } from '../domain/retry.js';
import { createEnforcerMetrics } from '../metrics/deployable-metrics.js';
import { startMetricsServerIf } from '../metrics/server.js';
import { connectNats, consumeEvents, createDurablePublisher, ensureConsumer, hasApiCode, watchConnection } from '../nats/index.js';
import { ensureAuditStream } from './audit-stream.js';
import { listBlocks, liftBlocks } from './block-admin.js';
import { createKillEnforcer } from './enforce-kill.js';
import type { EnforcerEvents } from './events.js';
import { kickClientFor } from './kick/index.js';
import { ensureEnforcerBuckets } from './kv-buckets.js';
import { deadLetterFor, parseKillSwitch } from './parse-kill.js';
import { applyDismiss, ensureReviewStream, parseReviewDecision } from './review-dismiss.js';

/** The worker's decisions stream (it creates it); the enforcer only consumes from it. */
export const DECISIONS_STREAM = 'SCREENING_DECISIONS';

export interface RunningEnforcer {
  readonly enforcerId: string;
  readonly metricsPort?: number;
  ready(): { ready: boolean; reasons: string[] };
  /** Deletes the blocks whose time is up, auditing each lift (also run every sweepIntervalMs). */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

export async function startEnforcer(loaded: LoadedConfig, logger: Logger): Promise<RunningEnforcer> {
  const { config } = loaded;
  const e = config.enforcer;
  const enforcerId = e.id ?? `enforcer-${hostname()}-${process.pid}`;
  const metrics = createEnforcerMetrics();
  const events = createHooks<EnforcerEvents>(logger, {
    action: ({ action, result }) => metrics.actions.inc({ action, result }),
    enforced: ({ seconds }) => metrics.enforceLatency.observe(seconds),
  });
  const ingests = new Map(config.ingests.map((i) => [i.id, i]));
  const closers: Array<() => unknown> = [];
  const close = async () => {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch((err: unknown) => logger.warn({ err }, 'close failed'));
  };
  try {
    const nc = await connectNats(loaded.nats, logger, { instance: enforcerId });
    closers.push(() => nc.drain().catch(() => nc.close()));
    const connection = watchConnection(nc, logger);
    const js = jetstream(nc);
    const jsm = await js.jetstreamManager();
    await ensureAuditStream(jsm, e.auditMaxAgeMs, logger);
    const kv = await ensureEnforcerBuckets(js, config.bridge.recordTtlMs, logger);
    const publisher = createDurablePublisher({
      js,
      logger,
      settings: { timeoutMs: 5_000, retryInitialDelayMs: config.publish.retryBaseMs, retryMaxDelayMs: config.publish.retryMaxMs },
    });

    const enforce = createKillEnforcer({
      settings: {
        enforcerId,
        blockMs: e.blockMs,
        hashKillsPermanent: e.hashKillsPermanent,
        blockScopes: e.blockScopes,
        kickTimeoutMs: e.kickTimeoutMs,
        retryBaseMs: e.retryBaseMs,
        retryMaxMs: e.retryMaxMs,
      },
      ports: {
        publisher: async (streamId) =>
          readJson(await kv.records.get(streamId), (v) => PublisherRecordSchema.safeParse(v)) as PublisherRecord | undefined,
        block: async (key) => readJson(await kv.blocks.get(key), (v) => BlockRecordSchema.safeParse(v)) as BlockRecord | undefined,
        putBlock: async (b) => {
          await kv.blocks.put(b.key, JSON.stringify(b));
        },
        audit: async (a) => {
          await publisher.publish(subjectFor(SUBJECTS.enforcementAction, a.streamId), a);
        },
        done: async (id) => {
          const e = await kv.done.get(id);
          if (e?.operation !== 'PUT') return undefined;
          const parsed = z.array(EnforcementActionSchema).safeParse(safeJson(e.string()));
          // A marker that cannot be read still says "done": acting twice is what it prevents.
          return parsed.success ? parsed.data : [];
        },
        markDone: async (id, audit) => {
          await kv.done.put(id, JSON.stringify(audit));
        },
        ingest: (id) => ingests.get(id),
        kickClient: kickClientFor,
      },
      logger,
      events,
    });

    // The worker creates the decisions stream; an enforcer started first waits for it.
    for (let attempt = 1; ; attempt++) {
      try {
        await ensureConsumer(
          jsm,
          DECISIONS_STREAM,
          {
            durable_name: e.consumer,
            // Real kill-switches only: shadow decisions live under screening.shadow.killswitch.* and are never acted on.
            filter_subject: `${SUBJECTS.killSwitch}.*`,
            ack_policy: AckPolicy.Explicit,
            // From the start of retention on first creation: a kill published before the first
            // enforcer ran is still carried out (the done bucket skips what already was).
            deliver_policy: DeliverPolicy.All,
            replay_policy: ReplayPolicy.Instant,
            ack_wait: nanos(e.ackWaitMs),
            max_deliver: -1,
            max_ack_pending: 1_000,
          },
          logger,
        );
        break;
      } catch (err) {
        if (!hasApiCode(err, JetStreamApiCodes.StreamNotFound)) throw err;
        if (attempt === 1) logger.warn({ stream: DECISIONS_STREAM }, 'waiting for the workers to create the decisions stream');
        await sleep(1_000);
      }
    }
    const consumer = await consumeEvents<KillSwitchEvent>({
      js,
      logger,
      stream: DECISIONS_STREAM,
      consumer: e.consumer,
      parse: parseKillSwitch,
      handle: (event, meta) => enforce(event, meta.deliveryCount),
      deadLetter: async (invalid) => {
        logger.error(
          { subject: invalid.subject, reason: invalid.reason, issues: invalid.issues },
          'refused a kill-switch that breaks its contract',
        );
        await publisher.publish(SUBJECTS.deadLetter, deadLetterFor(invalid, enforcerId));
      },
      concurrency: 8,
      retryInitialDelayMs: e.retryBaseMs,
      retryMaxDelayMs: e.retryMaxMs,
    });
    closers.push(() => consumer.stop());

    // Review dismissals lift the stream's blocks (review-dismiss.ts says which).
    const reviewStream = await ensureReviewStream(jsm, logger);
    await ensureConsumer(
      jsm,
      reviewStream,
      {
        durable_name: `${e.consumer}-review`,
        filter_subject: `${SUBJECTS.reviewDecision}.*`,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        replay_policy: ReplayPolicy.Instant,
        ack_wait: nanos(e.ackWaitMs),
        max_deliver: -1,
      },
      logger,
    );
    const reviews = await consumeEvents<ReviewDecision>({
      js,
      logger,
      stream: reviewStream,
      consumer: `${e.consumer}-review`,
      parse: parseReviewDecision,
      handle: async (decision) => {
        const lifted = await applyDismiss(decision, {
          blocks: kv.blocks,
          logger,
          audit: async (a) => {
            await publisher.publish(subjectFor(SUBJECTS.enforcementAction, a.streamId), a);
            events.emit('action', { action: a.action, result: a.result });
          },
        });
        if (lifted) logger.info({ streamId: decision.streamId, lifted, decisionId: decision.decisionId }, 'review dismiss lifted blocks');
        return { kind: 'ack' };
      },
      // The review loop dead-letters its own bad decisions; here one is only logged and skipped.
      deadLetter: async (invalid) => {
        logger.warn({ subject: invalid.subject, issues: invalid.issues }, 'ignoring a review decision that breaks its contract');
      },
      concurrency: 2,
      retryInitialDelayMs: e.retryBaseMs,
      retryMaxDelayMs: e.retryMaxMs,
    });
    closers.push(() => reviews.stop());

    const sweep = async (): Promise<number> => {
      const now = Date.now();
      const expired = (await listBlocks(kv.blocks, now)).blocks.filter((b) => !b.active).map((b) => b.block);
      if (!expired.length) return 0;
      return liftBlocks({
        kv: kv.blocks,
        blocks: expired,
        reason: 'expired',
        by: enforcerId,
        audit: async (a) => {
          await publisher.publish(subjectFor(SUBJECTS.enforcementAction, a.streamId), a);
          events.emit('action', { action: a.action, result: a.result });
        },
      });
    };
    const sweeper = setInterval(() => {
      sweep().catch((err: unknown) => logger.warn({ err }, 'block sweep failed'));
    }, e.sweepIntervalMs);
    closers.push(() => clearInterval(sweeper));

    const ready = () => {
      const r = readiness({
        nats: { ok: connection.connected(), detail: 'disconnected' },
        'kill-switch consumer': { ok: consumer.healthy(), detail: 'not consuming' },
        'review consumer': { ok: reviews.healthy(), detail: 'not consuming' },
      });
      metrics.ready.set(r.ready ? 1 : 0);
      return r;
    };
    const metricsServer = await startMetricsServerIf(config.metrics, metrics.registry, { live: () => !nc.isClosed(), ready });
    if (metricsServer) closers.push(() => metricsServer.close());
    logger.info({ enforcerId, ingests: [...ingests.keys()], metricsPort: metricsServer?.port }, 'enforcer consuming kill-switches');
    return { enforcerId, metricsPort: metricsServer?.port, ready, sweep, stop: close };
  } catch (err) {
    await close();
    throw err;
  }
}

function readJson(entry: { operation: string; json<T>(): T } | null, parse: (v: unknown) => { success: boolean; data?: unknown }): unknown {
  if (!entry || entry.operation !== 'PUT') return undefined;
  let value: unknown;
  try {
    value = entry.json();
  } catch {
    return undefined;
  }
  const r = parse(value);
  return r.success ? r.data : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
