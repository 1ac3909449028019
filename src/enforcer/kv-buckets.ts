import type { JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { sharedBuckets } from '../contracts/index.js';
import type { Logger } from '../domain/logger.js';
import { ensureStateBucket } from '../nats/index.js';

/** Kill-switch event ids carried out, so a redelivered or replayed kill is not acted on twice. */
export const DONE_BUCKET = 'enforcer-done';
/**
 * As long as the decisions stream keeps a kill-switch (its 7-day retention): a consumer recreated
 * from the start of the stream then skips every kill already carried out.
 */
const DONE_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** The buckets the enforcer reads and writes: the two it shares with the bridge, and its own record of kills carried out. */
export async function ensureEnforcerBuckets(
  js: JetStreamClient,
  recordTtlMs: number,
  logger: Logger,
): Promise<{ records: KV; blocks: KV; done: KV }> {
  const shared = sharedBuckets(recordTtlMs);
  return {
    records: await ensureStateBucket(js, shared.publishers, logger),
    blocks: await ensureStateBucket(js, shared.blocks, logger),
    done: await ensureStateBucket(
      js,
      { name: DONE_BUCKET, ttlMs: DONE_TTL_MS, description: 'streamscreen: kill-switches carried out' },
      logger,
    ),
  };
}
