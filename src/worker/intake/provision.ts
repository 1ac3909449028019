import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { nanos } from '@nats-io/transport-node';
import type { Logger } from '../../domain/logger.js';
import type { IngestOptions } from '../../config/index.js';

/** A stream's wanted settings: name and subjects, plus whatever else should be enforced. */
export type DesiredStream = Partial<StreamConfig> & Pick<StreamConfig, 'name' | 'subjects'>;

/**
 * Idempotent create-or-update of one stream. The publish stage owns the implementation (one
 * drift/immutable-settings rule for every stream the worker creates); ingest receives it as a
 * collaborator, IngestPublisher.ensureStream, instead of importing that stage.
 */
export type EnsureStream = (desired: DesiredStream) => Promise<unknown>;

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
 */
export async function provisionIngest(js: JetStreamClient, o: IngestOptions, ensureStream: EnsureStream, logger?: Logger): Promise<KV> {
  const jsm = await js.jetstreamManager();
  await ensureStream({
    name: o.startsStream,
    subjects: [`${o.startsSubjectPrefix}.*`],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    max_msgs_per_subject: 1,
    discard: DiscardPolicy.Old,
  });
  await ensureStream({
    name: o.endsStream,
    subjects: [`${o.endsSubjectPrefix}.*`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_msgs_per_subject: 1,
    max_age: nanos(o.endsMaxAgeMs),
    discard: DiscardPolicy.Old,
  });
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
    },
    logger,
  );
  return ensureLeaseBucket(js, o, logger);
}

async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  want: Partial<ConsumerConfig> & { durable_name: string },
  logger?: Logger,
): Promise<ConsumerInfo> {
  let info: ConsumerInfo | undefined;
  try {
    info = await jsm.consumers.info(stream, want.durable_name);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
  }
  if (!info) {
    const created = await jsm.consumers.add(stream, want);
    logger?.info({ stream, consumer: want.durable_name }, 'created durable consumer');
    return created;
  }
  const drift = (['ack_wait', 'max_deliver', 'max_ack_pending'] as const).filter((k) => info.config[k] !== want[k]);
  if (drift.length === 0) return info;
  const updated = await jsm.consumers.update(stream, want.durable_name, {
    ack_wait: want.ack_wait,
    max_deliver: want.max_deliver,
    max_ack_pending: want.max_ack_pending,
  });
  logger?.warn({ stream, consumer: want.durable_name, changed: drift }, 'updated durable consumer settings');
  return updated;
}

/** Opens the lease bucket, creating it or bringing its TTL to leaseTtlMs. */
export async function ensureLeaseBucket(js: JetStreamClient, o: IngestOptions, logger?: Logger): Promise<KV> {
  // allow_direct off: direct gets may be served by a lagging replica, and a lease read must see
  // the latest write (an ownership check that reads an old revision would wave a lost lease through).
  const kv = await new Kvm(js).create(o.leaseBucket, {
    history: 1,
    ttl: o.leaseTtlMs,
    storage: StorageType.File,
    allow_direct: false,
    description: 'streamscreen: which worker screens which live stream',
  });
  const status = await kv.status();
  if (status.ttl !== o.leaseTtlMs) {
    const jsm = await js.jetstreamManager();
    await jsm.streams.update(status.streamInfo.config.name, { max_age: nanos(o.leaseTtlMs) });
    logger?.warn({ bucket: o.leaseBucket, from: status.ttl, to: o.leaseTtlMs }, 'updated lease bucket TTL');
  }
  return kv;
}

/** Binds to the lease bucket without touching its settings (workers started with provision: false). */
export async function openLeaseBucket(js: JetStreamClient, o: IngestOptions): Promise<KV> {
  return new Kvm(js).open(o.leaseBucket, { allow_direct: false });
}
