import { fileURLToPath } from 'node:url';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { consoleConfigIssues, type Config } from '../config/index.js';
import { SUBJECTS, sharedStreams } from '../contracts/index.js';
import { ConfigError } from '../domain/errors.js';
import type { Logger } from '../domain/logger.js';
import { SessionStore } from './auth/sessions.js';
import { ConsoleService } from './console-service.js';
import { buildConsoleServer } from './http/server.js';
import { createAuditReader } from './nats/audit-reader.js';
import { createCaseFeed } from './nats/case-feed.js';
import { openClaimsRepository } from './nats/claims-repository.js';
import { ensureSharedStream } from './nats/ensure.js';
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
export async function startConsole(config: Config, logger: Logger, options: StartConsoleOptions = {}): Promise<ConsoleHandle> {
  const issues = consoleConfigIssues(config.console);
  if (issues.length > 0) throw new ConfigError('cannot start the console', issues);
  const c = config.console;

  const nc = await connect({ servers: config.nats.url, name: `${config.nats.name}-console` });
  const cleanups: Array<() => Promise<void>> = [async () => nc.drain()];
  try {
    const js = jetstream(nc);
    const jsm = await js.jetstreamManager();
    const streams = sharedStreams();
    for (const spec of [streams.cases, streams.review, streams.audit]) await ensureSharedStream(jsm, spec, logger);

    const keys = new Map(Object.entries(config.evidence.keys).map(([id, b64]) => [id, Buffer.from(b64, 'base64')]));
    const service = new ConsoleService({
      feed: createCaseFeed(js, { cases: streams.cases.name, review: streams.review.name }, logger),
      claims: await openClaimsRepository(js, c.buckets.claims, c.claimTtlMs),
      exposure: await openExposureRepository(js, c.buckets.exposure, c.shiftMs),
      publisher: createReviewPublisher(js, { reviewDecision: SUBJECTS.reviewDecision, audit: SUBJECTS.audit }),
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
