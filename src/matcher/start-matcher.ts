/**
 * The matcher deployable: the worker's hash lists (hash.lists files and, with NATS, the Object
 * Store bucket, kept current as the worker keeps them) behind HMA's lookup API (hma-api.ts).
 * It screens no stream; a platform's HMA or Coop client points its base URL here.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { LoadedConfig } from '../config/index.js';
import type { Logger } from '../domain/logger.js';
import { decodeRgb } from '../hash/decode-image.js';
import { createFileHashLists } from '../hash/file-lists.js';
import { createHashMatcher, type HashMatcherService } from '../hash/hash-matcher.js';
import { createHashListSync, type HashListSync } from '../hash/object-store-sync.js';
import { createPdqHasher } from '../hash/pdq-hasher.js';
import { connectNats } from '../nats/index.js';
import { buildHmaApi } from './hma-api.js';

export interface RunningMatcher {
  readonly port: number;
  readonly matcher: HashMatcherService;
  /** Re-reads the list files (SIGHUP); a bad file keeps the old version serving. */
  reloadLists(): Promise<void>;
  stop(): Promise<void>;
}

export async function startMatcher(loaded: LoadedConfig, logger: Logger): Promise<RunningMatcher> {
  const { config } = loaded;
  const matcher = createHashMatcher(loaded.stages.matcher);
  const files = createFileHashLists({ sink: matcher.source('files'), lists: config.hash.lists, logger });
  await files.load();

  let nc: NatsConnection | undefined;
  let sync: HashListSync | undefined;
  if (config.matcher.objectStore && config.hash.objectStore.enabled) {
    nc = await connectNats(loaded.nats, logger, { instance: 'matcher' });
    sync = createHashListSync({ nc, sink: matcher.source('nats'), logger, ...loaded.stages.hashListSync });
    await sync.start();
  }

  const hasher = createPdqHasher();
  const app = await buildHmaApi({
    backend: matcher,
    decode: (bytes) => decodeRgb(bytes),
    hash: (image) => hasher.hash(image).hash,
    logger,
    options: config.matcher,
  });
  try {
    await app.listen({ host: config.matcher.host, port: config.matcher.port });
  } catch (err) {
    await sync?.stop();
    await nc?.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.matcher.port;
  logger.info({ host: config.matcher.host, port, lists: matcher.lists().map((l) => ({ id: l.id, count: l.count })) }, 'matcher serving');

  return {
    port,
    matcher,
    reloadLists: async () => {
      const report = await files.reload();
      logger.info(
        { loaded: report.loaded, unchanged: report.unchanged, failed: report.failed.map((f) => f.error.message) },
        'hash lists reloaded',
      );
    },
    stop: async () => {
      await app.close();
      await sync?.stop();
      await nc?.drain().catch(() => nc?.close());
    },
  };
}
