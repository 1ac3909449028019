import {
  JetStreamApiCodes,
  StorageType,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { Kvm, type KV, type KvOptions } from '@nats-io/kv';
import { Objm, type ObjectStore, type ObjectStoreOptions } from '@nats-io/obj';
import { nanos } from '@nats-io/transport-node';
import { ConfigError } from '../domain/errors.js';
import type { Logger } from '../domain/logger.js';
import { hasApiCode } from './errors.js';

/** A stream's wanted settings: name and subjects, plus whatever else should be enforced. */
export type DesiredStream = Partial<StreamConfig> & Pick<StreamConfig, 'name' | 'subjects'>;

/** A durable consumer's wanted settings. */
export type DesiredConsumer = Partial<ConsumerConfig> & { durable_name: string };

/** Settings JetStream cannot change on an existing stream: a mismatch needs an operator. */
const IMMUTABLE: ReadonlyArray<keyof StreamConfig> = ['retention', 'storage'];

/**
 * Creates the stream, or brings an existing one to the desired settings. Idempotent and safe to
 * run from every worker at start: when two race to create it, the loser re-reads and compares.
 */
export async function ensureStream(jsm: JetStreamManager, desired: DesiredStream, logger?: Logger): Promise<StreamInfo> {
  let info = await streamInfo(jsm, desired.name);
  if (!info) {
    try {
      info = await jsm.streams.add(desired);
      logger?.info({ stream: desired.name }, 'created JetStream stream');
      return info;
    } catch (err) {
      info = await streamInfo(jsm, desired.name);
      if (!info) throw err;
    }
  }
  const drift = differences(info.config, desired);
  if (drift.length === 0) return info;
  const immutable = drift.filter((k) => IMMUTABLE.includes(k));
  if (immutable.length > 0) {
    throw new ConfigError(
      `stream ${desired.name} exists with settings that cannot be changed in place`,
      immutable.map(
        (k) =>
          `${String(k)}: is ${JSON.stringify(info.config[k])}, want ${JSON.stringify(desired[k])} (delete the stream or choose another name)`,
      ),
    );
  }
  const updated = await jsm.streams.update(desired.name, desired);
  logger?.warn({ stream: desired.name, changed: drift }, 'updated JetStream stream settings');
  return updated;
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (hasApiCode(err, JetStreamApiCodes.StreamNotFound)) return undefined;
    throw err;
  }
}

function differences(have: StreamConfig, want: DesiredStream): Array<keyof StreamConfig> {
  const out: Array<keyof StreamConfig> = [];
  for (const key of Object.keys(want) as Array<keyof StreamConfig>) {
    const w = want[key];
    const h = have[key];
    if (w === undefined) continue;
    if (Array.isArray(w) && Array.isArray(h)) {
      if ([...w].map(String).sort().join('\n') !== [...h].map(String).sort().join('\n')) out.push(key);
    } else if (w !== h) {
      out.push(key);
    }
  }
  return out;
}

/** Consumer settings that can be changed in place; the others need the consumer deleted. */
const CONSUMER_MUTABLE = ['ack_wait', 'max_deliver', 'max_ack_pending', 'backoff', 'description'] as const;

/**
 * Creates the durable consumer, or brings the settings JetStream can change in place to the
 * wanted values. Idempotent and safe to run from every replica at start.
 */
export async function ensureConsumer(jsm: JetStreamManager, stream: string, want: DesiredConsumer, logger?: Logger): Promise<ConsumerInfo> {
  let info: ConsumerInfo | undefined;
  try {
    info = await jsm.consumers.info(stream, want.durable_name);
  } catch (err) {
    if (!hasApiCode(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
  }
  if (!info) {
    try {
      const created = await jsm.consumers.add(stream, want);
      logger?.info({ stream, consumer: want.durable_name }, 'created durable consumer');
      return created;
    } catch (err) {
      // Two replicas raced to create it: the loser reads what the winner made and compares.
      info = await jsm.consumers.info(stream, want.durable_name).catch(() => undefined);
      if (!info) throw err;
    }
  }
  const have = info.config;
  const drift = CONSUMER_MUTABLE.filter((k) => want[k] !== undefined && JSON.stringify(have[k]) !== JSON.stringify(want[k]));
  if (drift.length === 0) return info;
  const patch: Partial<ConsumerConfig> = {};
  for (const k of drift) Object.assign(patch, { [k]: want[k] });
  const updated = await jsm.consumers.update(stream, want.durable_name, patch);
  logger?.warn({ stream, consumer: want.durable_name, changed: drift }, 'updated durable consumer settings');
  return updated;
}

export interface DesiredBucket extends Partial<KvOptions> {
  readonly name: string;
  /** Entry lifetime enforced by the server (the bucket stream's max_age), in ms; 0 keeps entries. */
  readonly ttl?: number;
}

/**
 * Opens a KV bucket, creating it when missing and bringing its TTL and replica count to the
 * wanted values (the settings our buckets change between versions and deployments). allow_direct
 * defaults to off: a direct get may be served by a lagging replica, and the state our buckets
 * hold (leases, claims, blocks, cooldowns) must be read at its latest revision.
 */
export async function ensureKv(js: JetStreamClient, want: DesiredBucket, logger?: Logger): Promise<KV> {
  const { name, ...opts } = want;
  const kv = await new Kvm(js).create(name, { allow_direct: false, ...opts });
  const status = await kv.status();
  const patch: Partial<StreamConfig> = {};
  if (want.ttl !== undefined && status.ttl !== want.ttl) patch.max_age = nanos(want.ttl);
  if (want.replicas !== undefined && status.replicas !== want.replicas) patch.num_replicas = want.replicas;
  if (Object.keys(patch).length > 0) {
    const jsm = await js.jetstreamManager();
    await jsm.streams.update(status.streamInfo.config.name, patch);
    logger?.warn(
      { bucket: name, ttl: { from: status.ttl, to: want.ttl }, replicas: { from: status.replicas, to: want.replicas } },
      'updated KV bucket settings',
    );
  }
  return kv;
}

/** Binds to an existing bucket without touching its settings (replicas started with provisioning off). */
export async function openKv(js: JetStreamClient, name: string): Promise<KV> {
  return new Kvm(js).open(name, { allow_direct: false });
}

/**
 * Opens an Object Store bucket; null when it does not exist (and `create` is false), else created
 * with `create`'s options. Existence is asked of the bucket's stream (`OBJ_<name>`) by API code:
 * the client's own open() reports a missing bucket only in its message text.
 */
export async function openObjectStore(
  js: JetStreamClient,
  name: string,
  create: false | Partial<ObjectStoreOptions>,
): Promise<ObjectStore | null> {
  const jsm = await js.jetstreamManager();
  try {
    await jsm.streams.info(`OBJ_${name}`);
  } catch (err) {
    if (!hasApiCode(err, JetStreamApiCodes.StreamNotFound)) throw err;
    if (create === false) return null;
    return new Objm(js).create(name, create);
  }
  return new Objm(js).open(name);
}

/** A bucket holding current state (leases, claims, blocks, records): one revision per key, on disk. */
export interface StateBucket {
  readonly name: string;
  /** Entry lifetime in ms, enforced by the server; absent: entries stay until deleted. */
  readonly ttlMs?: number;
  readonly description: string;
}

/**
 * ensureKv for state: history 1 (an audit stream, not the bucket, keeps what happened) and file
 * storage (state survives a server restart).
 */
export async function ensureStateBucket(js: JetStreamClient, b: StateBucket, logger?: Logger): Promise<KV> {
  return ensureKv(
    js,
    { name: b.name, history: 1, storage: StorageType.File, description: b.description, ...(b.ttlMs === undefined ? {} : { ttl: b.ttlMs }) },
    logger,
  );
}
