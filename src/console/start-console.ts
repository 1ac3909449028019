import { fileURLToPath } from 'node:url';
import { DiscardPolicy, jetstream, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { consoleConfigIssues, type LoadedConfig } from '../config/index.js';
import { SUBJECTS, sharedStreams, type SharedStreamSpec } from '../contracts/index.js';
import { ConfigError } from '../domain/errors.js';
import type { Logger } from '../domain/logger.js';
import { connectNats, ensureStream, type DesiredStream } from '../nats/index.js';
import { SessionStore } from './auth/sessions.js';
import { ConsoleService } from './console-service.js';
import { buildConsoleServer } from './http/server.js';
import { createAuditReader } from './nats/audit-reader.js';
import { createCaseFeed } from './nats/case-feed.js';
import { openClaimsRepository } from './nats/claims-repository.js';
import { createEvidenceReader } from './nats/evidence-reader.js';
import { openExposureRepository } from './nats/exposure-repository.js';
import { createReviewPublisher } from './nats/review-publisher.js';

export interface ConsoleHandle {
  /** http://host:port the server listens on. */
  readonly url: string;
  stop(): Promise<void>;
}

export interface StartConsoleOptions {
  /** The bundled front end; default dist/console-ui next to the compiled code. */
  readonly assetsDir?: string;
}

/** Where `npm run build` puts the bundle, relative to this module once compiled (dist/src/console/). */
export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('../../console-ui/', import.meta.url));

/** The console's composition root: NATS, repositories, the service, the HTTP server. */
export async function startConsole(
  loaded: Pick<LoadedConfig, 'config' | 'nats'>,
  logger: Logger,
  options: StartConsoleOptions = {},
): Promise<ConsoleHandle> {
  const { config } = loaded;
  const issues = consoleConfigIssues(config.console);
  if (issues.length > 0) throw new ConfigError('cannot start the console', issues);
  const c = config.console;

  const nc = await connectNats(loaded.nats, logger, { instance: 'console' });
  const cleanups: Array<() => Promise<void>> = [async () => nc.drain()];
  try {
    const js = jetstream(nc);
    const jsm = await js.jetstreamManager();
    const streams = sharedStreams();
    for (const spec of [streams.cases, streams.review, streams.audit]) await ensureStream(jsm, desiredStream(spec), logger);

    const keys = new Map(Object.entries(config.evidence.keys).map(([id, b64]) => [id, Buffer.from(b64, 'base64')]));
    const service = new ConsoleService({
      feed: createCaseFeed(js, jsm, { cases: streams.cases.name, review: streams.review.name }, logger),
      claims: await openClaimsRepository(js, c.buckets.claims, c.claimTtlMs, logger),
      exposure: await openExposureRepository(js, c.buckets.exposure, c.shiftMs, logger),
      publisher: createReviewPublisher(js, { reviewDecision: SUBJECTS.reviewDecision, audit: SUBJECTS.audit }, logger),
      audit: createAuditReader(js, streams.audit.name),
      evidence: createEvidenceReader(js, keys),
      deadlines: c.deadlines,
      closedVisibleMs: c.closedVisibleMs,
      shifts: { shiftMs: c.shiftMs, offsetMs: c.shiftOffsetMs },
      liftGrant: c.liftGrant,
      logger,
    });
    await service.start();
    cleanups.unshift(() => service.stop());

    const app = await buildConsoleServer({
      config: c,
      service,
      sessions: new SessionStore(c.sessionTtlMs),
      assetsDir: options.assetsDir ?? DEFAULT_ASSETS_DIR,
      logger,
    });
    cleanups.unshift(() => app.close());
    const address = await app.listen({ host: c.host, port: c.port });
    logger.info({ url: address }, 'console listening');
    return {
      url: address,
      stop: async () => {
        for (const fn of cleanups.splice(0)) await fn();
      },
    };
  } catch (err) {
    for (const fn of cleanups.splice(0)) await fn().catch(() => undefined);
    throw err;
  }
}

/**
 * A shared stream (contracts/streams.ts) as the kit provisions it: limits retention (no reader
 * consumes what another still needs), file storage, oldest discarded first.
 */
function desiredStream(spec: SharedStreamSpec): DesiredStream {
  return {
    name: spec.name,
    subjects: [...spec.subjects],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(spec.maxAgeMs),
    duplicate_window: nanos(spec.duplicateWindowMs),
  };
}
