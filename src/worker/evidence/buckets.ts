import { StorageType, type JetStreamClient } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import { millis, nanos } from '@nats-io/transport-node';
import type { EvidenceOptions } from '../../config/index.js';
import type { Logger } from '../../domain/logger.js';
import { openObjectStore } from '../../nats/index.js';

export interface EvidenceBuckets {
  readonly reviewer: ObjectStore;
  readonly preserved: ObjectStore;
}

/**
 * The two evidence buckets, one per retention class: reviewer copies (evidence.reviewerDays) and
 * preserved originals (evidence.preserveDays). Created when missing, their TTL brought to the
 * configured one (the bucket stream's max_age): retention is a legal matter, not a default.
 */
export async function openEvidenceBuckets(js: JetStreamClient, o: EvidenceOptions, logger?: Logger): Promise<EvidenceBuckets> {
  return {
    reviewer: await ensureBucket(js, o.reviewerBucket, o.reviewerTtlMs, 'streamscreen evidence: reviewer copies (encrypted)', logger),
    preserved: await ensureBucket(js, o.preservedBucket, o.preserveTtlMs, 'streamscreen evidence: preserved originals (encrypted)', logger),
  };
}

async function ensureBucket(js: JetStreamClient, name: string, ttlMs: number, description: string, logger?: Logger): Promise<ObjectStore> {
  const os = (await openObjectStore(js, name, { description, ttl: nanos(ttlMs), storage: StorageType.File }))!;
  const status = await os.status();
  if (millis(status.ttl) !== ttlMs) {
    const jsm = await js.jetstreamManager();
    await jsm.streams.update(status.streamInfo.config.name, { max_age: nanos(ttlMs) });
    logger?.warn({ bucket: name, fromMs: millis(status.ttl), toMs: ttlMs }, 'updated evidence bucket retention');
  }
  return os;
}

/** Read-only access (export, reads): the buckets by name, null when missing. */
export async function openEvidenceBucket(js: JetStreamClient, name: string): Promise<ObjectStore | null> {
  return openObjectStore(js, name, false);
}
