import { StorageType, type JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { KV_BUCKETS } from '../contracts/index.js';
import type { Logger } from '../domain/logger.js';
import { ensureKv } from '../nats/index.js';

/** Kill-switch event ids carried out, so a redelivered or replayed kill is not acted on twice. */
export const DONE_BUCKET = 'enforcer-done';
/**
 * As long as the decisions stream keeps a kill-switch (its 7-day retention): a consumer recreated
 * from the start of the stream then skips every kill already carried out.
 */
const DONE_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * The buckets the enforcer reads and writes, with the same settings the bridge gives the two it
 * shares (publishers: the records' TTL; blocks: no TTL, a block carries its own expiry).
 */
export async function ensureEnforcerBuckets(
  js: JetStreamClient,
  recordTtlMs: number,
  logger: Logger,
): Promise<{ records: KV; blocks: KV; done: KV }> {
  const records = await ensureKv(
    js,
    {
      name: KV_BUCKETS.publishers,
      history: 1,
      ttl: recordTtlMs,
      storage: StorageType.File,
      description: 'streamscreen: who publishes each stream',
    },
    logger,
  );
  const blocks = await ensureKv(
    js,
    { name: KV_BUCKETS.blocks, history: 1, storage: StorageType.File, description: 'streamscreen: publishers denied re-publish' },
    logger,
  );
  const done = await ensureKv(
    js,
    { name: DONE_BUCKET, history: 1, ttl: DONE_TTL_MS, storage: StorageType.File, description: 'streamscreen: kill-switches carried out' },
    logger,
  );
  return { records, blocks, done };
}
