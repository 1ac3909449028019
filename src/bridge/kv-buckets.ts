import type { JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { StorageType } from '@nats-io/jetstream';
import { KV_BUCKETS } from '../contracts/index.js';
import type { Logger } from '../domain/logger.js';
import { ensureKv } from '../nats/index.js';

/**
 * The buckets the bridge writes and reads: publisher records expire after recordTtlMs, blocks
 * never (a block carries its own expiry, which may be "never"). History 1: the audit stream, not
 * the bucket, keeps what happened.
 */
export async function ensureBridgeBuckets(js: JetStreamClient, recordTtlMs: number, logger: Logger): Promise<{ records: KV; blocks: KV }> {
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
  return { records, blocks };
}
