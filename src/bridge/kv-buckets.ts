import type { JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { sharedBuckets } from '../contracts/index.js';
import type { Logger } from '../domain/logger.js';
import { ensureStateBucket } from '../nats/index.js';

/** The buckets the bridge writes (publisher records) and reads (blocks), as the enforcer creates them too. */
export async function ensureBridgeBuckets(js: JetStreamClient, recordTtlMs: number, logger: Logger): Promise<{ records: KV; blocks: KV }> {
  const shared = sharedBuckets(recordTtlMs);
  return { records: await ensureStateBucket(js, shared.publishers, logger), blocks: await ensureStateBucket(js, shared.blocks, logger) };
}
