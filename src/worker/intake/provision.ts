import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
} from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { nanos } from '@nats-io/transport-node';
import type { Logger } from '../../domain/logger.js';
import { ensureConsumer, ensureKv, ensureStream, openKv } from '../../nats/index.js';
import type { IngestOptions } from '../../config/index.js';

/**
 * Inbound topology, created idempotently by every worker at start (and by tests/demo):
 *
 * - starts: work-queue retention so a start is removed only when a worker acks (or terms) it;
 *   max_msgs_per_subject 1 so a re-announced stream replaces its pending start instead of
 *   queueing a second screening; file storage so nothing is lost across a server restart.
 * - ends: limits retention with max_age and one message per stream id. Every worker reads
 *   them (an end must reach whichever worker holds the stream) and admission looks the last one
 *   up by subject, so it has to stay readable rather than be consumed.
 * - consumer: one shared durable pull consumer; ack_wait is the dead-worker detection time;
 *   max_deliver unlimited because a start is legitimately nak'd many times while another worker
 *   holds the stream (our own backoff is nak(delay), not the consumer's backoff list).
 * - leases: KV with history 1 and max_age = lease TTL, so the *server* expires an unrenewed
 *   lease: takeover does not depend on any worker's clock.
 * - every stream and the bucket at `nats.replicas` (3 on a cluster: a node can go down).
 */
export async function provisionIngest(js: JetStreamClient, o: IngestOptions, logger?: Logger): Promise<KV> {
  const jsm = await js.jetstreamManager();
  await ensureStream(
    jsm,
    {
      name: o.startsStream,
      subjects: [`${o.startsSubjectPrefix}.*`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      max_msgs_per_subject: 1,
      discard: DiscardPolicy.Old,
      num_replicas: o.replicas,
    },
    logger,
  );
  await ensureStream(
    jsm,
    {
      name: o.endsStream,
      subjects: [`${o.endsSubjectPrefix}.*`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_msgs_per_subject: 1,
      max_age: nanos(o.endsMaxAgeMs),
      discard: DiscardPolicy.Old,
      num_replicas: o.replicas,
    },
    logger,
  );
  await ensureConsumer(
    jsm,
    o.startsStream,
    {
      durable_name: o.consumerName,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      replay_policy: ReplayPolicy.Instant,
      ack_wait: nanos(o.ackWaitMs),
      max_deliver: -1,
      max_ack_pending: o.maxAckPending,
      // A consumer follows its stream's replica count unless told otherwise (0).
    },
    logger,
  );
  return ensureLeaseBucket(js, o, logger);
}

/** Opens the lease bucket, creating it or bringing its TTL to leaseTtlMs. */
export async function ensureLeaseBucket(js: JetStreamClient, o: IngestOptions, logger?: Logger): Promise<KV> {
  return ensureKv(
    js,
    {
      name: o.leaseBucket,
      history: 1,
      ttl: o.leaseTtlMs,
      storage: StorageType.File,
      replicas: o.replicas,
      description: 'streamscreen: which worker screens which live stream',
    },
    logger,
  );
}

/** Binds to the lease bucket without touching its settings (workers started with provision: false). */
export async function openLeaseBucket(js: JetStreamClient, o: IngestOptions): Promise<KV> {
  return openKv(js, o.leaseBucket);
}
