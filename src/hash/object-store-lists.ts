import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import type { ObjectInfo, ObjectStore } from '@nats-io/obj';
import { openObjectStore } from '../nats/index.js';
import { HashListError } from '../domain/errors.js';
import type { IndexOptions } from './hash-index.js';
import { HASH_LIST_ACTIONS, HASH_LIST_ID_PATTERN, type HashListAction, type HashListFormat, type LoadedList } from './hash-list.js';
import { indexParsedList } from './load-list.js';
import { parseHashList, parseHashListFile } from './parse-hashlist.js';

/**
 * What the publisher records with each object (ObjectStore meta `metadata`, which servers
 * before 2.10 keep as part of the object's meta entry, so 2.9 works). Workers trust nothing
 * else: the sha256 they compute over the downloaded bytes must equal this one.
 */
export interface PublishedListMeta {
  readonly id: string;
  readonly action: HashListAction;
  readonly label?: string;
  readonly source?: string;
  /** The list's own match distance, when it has one. */
  readonly maxDistance?: number;
  /** Lower-case hex SHA-256 of the object's bytes. */
  readonly sha256: string;
  readonly format: HashListFormat;
  /** Entries the publisher parsed; the worker's count must agree. */
  readonly count: number;
  readonly enabled: boolean;
  readonly publishedAt?: string;
}

export function encodeListMetadata(meta: PublishedListMeta): Record<string, string> {
  return {
    action: meta.action,
    sha256: meta.sha256,
    format: meta.format,
    count: String(meta.count),
    enabled: String(meta.enabled),
    ...(meta.label === undefined ? {} : { label: meta.label }),
    ...(meta.source === undefined ? {} : { source: meta.source }),
    ...(meta.maxDistance === undefined ? {} : { max_distance: String(meta.maxDistance) }),
    ...(meta.publishedAt === undefined ? {} : { published_at: meta.publishedAt }),
  };
}

/** Reads an object's recorded metadata; a HashListError says what is missing or wrong. */
export function decodeListMetadata(info: Pick<ObjectInfo, 'name' | 'metadata' | 'bucket'>): PublishedListMeta {
  const where = `nats:${info.bucket}/${info.name}`;
  const m = info.metadata ?? {};
  const fail = (why: string): never => {
    throw new HashListError(`object metadata ${why} (publish lists with 'streamscreen hashlist publish')`, where);
  };
  if (!HASH_LIST_ID_PATTERN.test(info.name)) fail(`name is not a valid list id`);
  const action = (m.action ?? 'kill') as HashListAction;
  if (!HASH_LIST_ACTIONS.includes(action)) fail(`action ${JSON.stringify(m.action)} is not kill, escalate or negative`);
  const maxDistance = m.max_distance === undefined ? undefined : Number(m.max_distance);
  if (maxDistance !== undefined && !(Number.isInteger(maxDistance) && maxDistance >= 0 && maxDistance <= 128)) {
    fail(`max_distance ${JSON.stringify(m.max_distance)} is not an integer 0..128`);
  }
  const sha256 = m.sha256 ?? '';
  if (!/^[0-9a-f]{64}$/.test(sha256)) fail('has no sha256');
  const format = m.format as HashListFormat | undefined;
  if (format !== 'text' && format !== 'csv' && format !== 'vpdq') fail(`format ${JSON.stringify(m.format)} is not text, csv or vpdq`);
  const count = Number(m.count);
  if (!Number.isSafeInteger(count) || count < 0) fail(`count ${JSON.stringify(m.count)} is not a whole number`);
  return {
    id: info.name,
    action,
    sha256,
    format: format!,
    count,
    enabled: m.enabled !== 'false',
    ...(m.label === undefined ? {} : { label: m.label }),
    ...(m.source === undefined ? {} : { source: m.source }),
    ...(maxDistance === undefined ? {} : { maxDistance }),
    ...(m.published_at === undefined ? {} : { publishedAt: m.published_at }),
  };
}

/**
 * Opens the bucket lists are distributed through (object name = list id; the name comes from
 * config hash.objectStore.bucket), creating it (file storage) when it does not exist yet: workers
 * may start before the first list is published, with `replicas` (nats.replicas; an existing bucket
 * keeps its own). Read-only callers pass `create: false` and get null.
 */
export async function openHashListBucket(nc: NatsConnection, bucket: string, options?: { replicas?: number }): Promise<ObjectStore>;
export async function openHashListBucket(nc: NatsConnection, bucket: string, options: { create: false }): Promise<ObjectStore | null>;
export async function openHashListBucket(
  nc: NatsConnection,
  bucket: string,
  options: { create: false } | { replicas?: number } = {},
): Promise<ObjectStore | null> {
  return openObjectStore(
    jetstream(nc),
    bucket,
    'create' in options
      ? false
      : { description: 'streamscreen PDQ hash lists (object name = list id)', ...(options.replicas ? { replicas: options.replicas } : {}) },
  );
}

export interface PublishRequest {
  readonly file: string;
  readonly id: string;
  readonly action?: HashListAction;
  readonly label?: string;
  readonly source?: string;
  readonly format?: HashListFormat;
  readonly enabled?: boolean;
  readonly maxDistance?: number;
}

export interface PublishResult {
  readonly meta: PublishedListMeta;
  readonly info: ObjectInfo;
  readonly skippedOtherTypes: number;
}

/** A list file checked completely and described, ready to upload. */
export interface PreparedList {
  readonly file: string;
  readonly meta: PublishedListMeta;
  readonly bytes: number;
  readonly skippedOtherTypes: number;
}

/** Parses the whole file (a list workers would refuse is never published) and builds its metadata. */
export async function prepareHashList(request: PublishRequest): Promise<PreparedList> {
  if (!HASH_LIST_ID_PATTERN.test(request.id)) {
    throw new HashListError(`list id ${JSON.stringify(request.id)} must match ${HASH_LIST_ID_PATTERN}`, request.file);
  }
  if (request.action !== undefined && !HASH_LIST_ACTIONS.includes(request.action)) {
    throw new HashListError(`action must be kill, escalate or negative, got ${JSON.stringify(request.action)}`, request.file);
  }
  if (
    request.maxDistance !== undefined &&
    !(Number.isInteger(request.maxDistance) && request.maxDistance >= 0 && request.maxDistance <= 128)
  ) {
    throw new HashListError(`max distance must be an integer 0..128, got ${request.maxDistance}`, request.file);
  }
  if (request.format === 'vpdq' && (await stat(request.file)).isDirectory()) {
    throw new HashListError('a published vPDQ list is one video file; publish each video of the directory as its own list', request.file);
  }
  const parsed = await parseHashListFile(request.file, request.format ? { format: request.format, videoId: request.id } : {});
  const meta: PublishedListMeta = {
    id: request.id,
    action: request.action ?? 'kill',
    sha256: parsed.sha256,
    format: parsed.data.format,
    count: parsed.data.count,
    enabled: request.enabled ?? true,
    publishedAt: new Date().toISOString(),
    ...(request.label === undefined ? {} : { label: request.label }),
    ...(request.source === undefined ? {} : { source: request.source }),
    ...(request.maxDistance === undefined ? {} : { maxDistance: request.maxDistance }),
  };
  return { file: request.file, meta, bytes: parsed.bytes, skippedOtherTypes: parsed.data.stats.skippedOtherTypes };
}

/**
 * Streams a prepared file into the bucket with its metadata. The bytes are hashed again on the
 * way out: if the file changed since it was checked, the upload is reported as failed (workers
 * refuse that version too, since its sha256 will not match).
 */
export async function uploadHashList(os: ObjectStore, prepared: PreparedList): Promise<PublishResult> {
  const { meta } = prepared;
  const digest = createHash('sha256');
  const file = createReadStream(prepared.file, { highWaterMark: 1 << 17 })[Symbol.asyncIterator]();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await file.next();
      if (next.done) controller.close();
      else {
        const chunk = next.value as Buffer;
        digest.update(chunk);
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      }
    },
    async cancel() {
      await file.return?.();
    },
  });
  const info = await os.put(
    { name: meta.id, ...(meta.label ? { description: meta.label } : {}), metadata: encodeListMetadata(meta) },
    body,
  );
  if (digest.digest('hex') !== meta.sha256 || info.size !== prepared.bytes) {
    throw new HashListError('file changed while it was being published; workers will refuse this version; publish it again', prepared.file);
  }
  return { meta, info, skippedOtherTypes: prepared.skippedOtherTypes };
}

/** prepareHashList then uploadHashList. */
export async function publishHashList(os: ObjectStore, request: PublishRequest): Promise<PublishResult> {
  return uploadHashList(os, await prepareHashList(request));
}

export interface DownloadedList {
  readonly list: LoadedList;
  readonly meta: PublishedListMeta;
  readonly info: ObjectInfo;
}

/**
 * Downloads the current version of one list, computes the SHA-256 of the bytes as they stream
 * in, parses them in the same pass, and accepts the list only if the hash and entry count
 * equal what the publisher recorded. HashListError for anything wrong with the content or its
 * metadata (deterministic: retrying will not help); other errors are transport failures.
 * Null when the object does not exist (or was deleted).
 */
export async function downloadHashList(os: ObjectStore, name: string, index: IndexOptions = {}): Promise<DownloadedList | null> {
  const result = await os.get(name);
  if (!result) return null;
  const { info } = result;
  const where = `nats:${info.bucket}/${name}`;
  let meta: PublishedListMeta;
  try {
    meta = decodeListMetadata(info);
  } catch (err) {
    await result.data.cancel().catch(() => undefined);
    throw err;
  }
  const parsed = await parseHashList(result.data as AsyncIterable<Uint8Array>, where, {
    format: meta.format,
    expectedBytes: info.size,
    // A published vPDQ list is one video, named after the list.
    videoId: name,
  });
  const transferError = await result.error;
  if (transferError) throw transferError;
  if (parsed.sha256 !== meta.sha256) {
    throw new HashListError(`sha256 of the downloaded bytes is ${parsed.sha256}, the publisher recorded ${meta.sha256}`, where);
  }
  if (parsed.data.count !== meta.count) {
    throw new HashListError(`parsed ${parsed.data.count} entries, the publisher recorded ${meta.count}`, where);
  }
  const list = await indexParsedList(
    parsed,
    {
      id: name,
      action: meta.action,
      ...(meta.label ? { label: meta.label } : {}),
      ...(meta.source ? { source: meta.source } : {}),
      ...(meta.maxDistance === undefined ? {} : { maxDistance: meta.maxDistance }),
      origin: `${where}@${info.nuid}`,
    },
    index,
  );
  return { list, meta, info };
}
