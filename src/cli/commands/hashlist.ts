import { parseArgs } from 'node:util';
import type { ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { connectNats, type NatsConnectionSettings } from '../../nats/index.js';
import { loadConfig, readEnv } from '../../config/index.js';
import { HashListError, StreamscreenError } from '../../domain/errors.js';
import { HASH_LIST_ACTIONS, type HashListAction, type HashListFormat } from '../../hash/hash-list.js';
import { decodeListMetadata, openHashListBucket, prepareHashList, uploadHashList } from '../../hash/object-store-lists.js';
import { quarantineEvent, releaseRecord, type QuarantineRecord } from '../../hash/quarantine.js';
import { createKvQuarantineStore, openQuarantineBucket } from '../../hash/quarantine-kv.js';
import { isPdqHex } from '../../domain/pdq.js';
import { createDecisionPublisher } from '../../worker/publish/index.js';
import { jetstream } from '@nats-io/jetstream';
import { parseHashListFile } from '../../hash/parse-hashlist.js';
import { processIO, type CommandIO } from './io.js';

/** Environment the CLI dispatcher passes in (commands do not read process.env themselves). */
export type CommandEnv = Readonly<Record<string, string | undefined>>;

/** The one-shot commands report errors on stderr themselves; the kit's connection log would be noise. */
const silentLogger = pino({ level: 'silent' });

/** The flags that say which server and bucket a hash list command talks to. */
export interface BucketFlags {
  readonly config?: string;
  readonly 'nats-url'?: string;
  readonly bucket?: string;
}

/**
 * Server and bucket the same way a worker finds them (config file, then the environment, so a
 * publish lands in the bucket workers watch), with `--nats-url` and `--bucket` winning over both.
 */
export function bucketTarget(
  flags: BucketFlags,
  env: CommandEnv,
): { url: string; bucket: string; replicas: number; nats: NatsConnectionSettings } {
  const loaded = loadConfig({ env: readEnv(env), ...(flags.config ? { file: flags.config } : {}) });
  const url = flags['nats-url'] || loaded.config.nats.url;
  return {
    url,
    bucket: flags.bucket || loaded.config.hash.objectStore.bucket,
    replicas: loaded.stages.hashListSync.replicas,
    nats: flags['nats-url'] ? { ...loaded.nats, servers: url.split(',') } : loaded.nats,
  };
}

/** The quarantine bucket, its settings and the publisher's, found as the worker finds them. */
function quarantineTarget(flags: BucketFlags, env: CommandEnv) {
  const loaded = loadConfig({ env: readEnv(env), ...(flags.config ? { file: flags.config } : {}) });
  const url = flags['nats-url'] || loaded.config.nats.url;
  return {
    nats: flags['nats-url'] ? { ...loaded.nats, servers: url.split(',') } : loaded.nats,
    bucket: flags.bucket || loaded.config.hash.quarantine.bucket,
    quarantine: loaded.stages.quarantine,
    publisher: loaded.stages.publisher,
  };
}

const USAGE = `usage:
  streamscreen hashlist publish FILE --id ID [--action kill|escalate] [--label L] [--source S]
                                    [--format text|csv|vpdq] [--max-distance N] [--disabled]
  streamscreen hashlist ls [--json]
  streamscreen hashlist inspect ID
  streamscreen hashlist delete ID
  streamscreen hashlist check FILE [--format text|csv|vpdq] (validate locally, no NATS)
  streamscreen hashlist quarantined [--json]                entries in flood quarantine
  streamscreen hashlist release LIST HASH [--by NAME]       put a quarantined entry back into service

common options:
  --config FILE    config file (default config/streamscreen.json, or $STREAMSCREEN_CONFIG)
  --nats-url URL   default: the config's nats.url, or $NATS_URL
  --bucket NAME    default: the config's hash.objectStore.bucket (the bucket workers watch);
                   for quarantined/release, hash.quarantine.bucket

Lists are PDQ hashes, one per line (optionally TAB label; # comments), or CSV with a hash
column. 'kill' lists (confirmed CSAM) stop a stream on a hit; 'escalate' lists send it to review;
'negative' lists (known benign or false-match hashes) suppress a frame's other matches.
--max-distance sets the list's own match distance (default: the worker's hash.maxDistance).
An entry matching on more than hash.quarantine.maxStreams streams within its window stops acting
(flood quarantine, reported on screening.quarantine) until 'release' puts it back.
Exit status: 0 done, 1 failed (e.g. the file is invalid: nothing is published), 2 usage.
`;

class UsageError extends Error {}

export async function run(argv: string[], io: CommandIO = processIO, env: CommandEnv = {}): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'publish':
        return await publish(rest, io, env);
      case 'ls':
      case 'list':
        return await list(rest, io, env);
      case 'inspect':
        return await inspect(rest, io, env);
      case 'delete':
      case 'rm':
        return await remove(rest, io, env);
      case 'check':
        return await check(rest, io);
      case 'quarantined':
        return await quarantined(rest, io, env);
      case 'release':
        return await release(rest, io, env);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(USAGE);
        return sub === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown subcommand '${sub}'`);
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (err instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      io.stderr.write(`streamscreen hashlist: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    io.stderr.write(`streamscreen hashlist: ${describe(err)}\n`);
    return 1;
  }
}

const COMMON = {
  config: { type: 'string' },
  'nats-url': { type: 'string' },
  bucket: { type: 'string' },
} as const;

function oneArg(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected exactly one ${what}`);
  return positionals[0]!;
}

function formatOption(value: string | undefined): HashListFormat | undefined {
  if (value === undefined || value === 'text' || value === 'csv' || value === 'vpdq') return value;
  throw new UsageError(`--format must be text, csv or vpdq, got '${value}'`);
}

async function publish(argv: string[], io: CommandIO, env: CommandEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...COMMON,
      id: { type: 'string' },
      action: { type: 'string', default: 'kill' },
      label: { type: 'string' },
      source: { type: 'string' },
      format: { type: 'string' },
      disabled: { type: 'boolean', default: false },
      'max-distance': { type: 'string' },
    },
  });
  const file = oneArg(positionals, 'FILE');
  if (!values.id) throw new UsageError('--id is required');
  if (!HASH_LIST_ACTIONS.includes(values.action as HashListAction))
    throw new UsageError(`--action must be kill, escalate or negative, got '${values.action}'`);
  const format = formatOption(values.format);
  const maxDistance = values['max-distance'] === undefined ? undefined : Number(values['max-distance']);
  if (maxDistance !== undefined && !(Number.isInteger(maxDistance) && maxDistance >= 0 && maxDistance <= 128))
    throw new UsageError(`--max-distance must be an integer 0..128, got '${values['max-distance']}'`);
  // Checked before connecting: an invalid file never reaches (or creates) the bucket.
  const prepared = await prepareHashList({
    file,
    id: values.id,
    action: values.action as HashListAction,
    enabled: !values.disabled,
    ...(values.label === undefined ? {} : { label: values.label }),
    ...(values.source === undefined ? {} : { source: values.source }),
    ...(format ? { format } : {}),
    ...(maxDistance === undefined ? {} : { maxDistance }),
  });
  return withBucket(
    values,
    env,
    async (os, bucket) => {
      const result = await uploadHashList(os!, prepared);
      const { meta } = result;
      const skipped = result.skippedOtherTypes ? ` (${result.skippedOtherTypes} non-PDQ rows skipped)` : '';
      io.stdout.write(
        `published ${meta.id} to ${bucket}: ${meta.count} hashes${skipped}, ${meta.format}, action ${meta.action}${meta.enabled ? '' : ', disabled'}, sha256 ${meta.sha256}\n`,
      );
      return 0;
    },
    true,
  );
}

async function list(argv: string[], io: CommandIO, env: CommandEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...COMMON, json: { type: 'boolean', default: false } },
  });
  if (positionals.length) throw new UsageError('ls takes no arguments');
  return withBucket(values, env, async (os) => {
    const infos = (os ? await os.list() : []).sort((a, b) => a.name.localeCompare(b.name));
    const rows = infos.map((info) => {
      try {
        const m = decodeListMetadata(info);
        return {
          id: m.id,
          action: m.action,
          enabled: m.enabled,
          count: m.count,
          format: m.format,
          label: m.label ?? '',
          source: m.source ?? '',
          size: info.size,
          mtime: info.mtime,
          sha256: m.sha256,
        };
      } catch (err) {
        return { id: info.name, invalid: (err as Error).message, size: info.size, mtime: info.mtime };
      }
    });
    if (values.json) {
      for (const row of rows) io.stdout.write(`${JSON.stringify(row)}\n`);
      return 0;
    }
    if (!rows.length) {
      io.stdout.write('no hash lists published\n');
      return 0;
    }
    const table = rows.map((r) =>
      'invalid' in r
        ? [r.id, '?', '?', '?', String(r.size), r.mtime, `INVALID: ${r.invalid}`]
        : [
            r.id,
            r.action,
            r.enabled ? 'yes' : 'no',
            String(r.count),
            String(r.size),
            r.mtime,
            [r.label, r.source && `source ${r.source}`].filter(Boolean).join(', '),
          ],
    );
    const header = ['ID', 'ACTION', 'ENABLED', 'HASHES', 'BYTES', 'UPDATED', 'LABEL'];
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
    for (const row of [header, ...table])
      io.stdout.write(`${row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`);
    return 0;
  });
}

async function inspect(argv: string[], io: CommandIO, env: CommandEnv): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: COMMON });
  const id = oneArg(positionals, 'list ID');
  return withBucket(values, env, async (os, bucket) => {
    const info = os ? await os.info(id) : null;
    if (!info || info.deleted) {
      io.stderr.write(`streamscreen hashlist: no list '${id}' in ${bucket}\n`);
      return 1;
    }
    let metadata: unknown;
    try {
      metadata = decodeListMetadata(info);
    } catch (err) {
      metadata = { invalid: (err as Error).message, raw: info.metadata ?? {} };
    }
    const out = {
      id,
      bucket,
      metadata,
      object: { size: info.size, chunks: info.chunks, digest: info.digest, mtime: info.mtime, nuid: info.nuid, revision: info.revision },
    };
    io.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  });
}

async function remove(argv: string[], io: CommandIO, env: CommandEnv): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: COMMON });
  const id = oneArg(positionals, 'list ID');
  return withBucket(values, env, async (os, bucket) => {
    const info = os ? await os.info(id) : null;
    if (!os || !info || info.deleted) {
      io.stderr.write(`streamscreen hashlist: no list '${id}' in ${bucket}\n`);
      return 1;
    }
    await os.delete(id);
    io.stdout.write(`deleted ${id} from ${bucket}; workers drop it when they see the deletion\n`);
    return 0;
  });
}

async function check(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { format: { type: 'string' } } });
  const file = oneArg(positionals, 'FILE');
  const format = formatOption(values.format);
  const { data, sha256, bytes } = await parseHashListFile(file, format ? { format } : {});
  io.stdout.write(`${JSON.stringify({ file, format: data.format, bytes, sha256, ...data.stats, distinctLabels: data.labels.size })}\n`);
  return 0;
}

async function quarantined(argv: string[], io: CommandIO, env: CommandEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...COMMON, json: { type: 'boolean', default: false } },
  });
  if (positionals.length) throw new UsageError('quarantined takes no arguments');
  const target = quarantineTarget(values, env);
  const nc = await connectOnce(target.nats);
  try {
    const kv = await openQuarantineBucket(nc, target.bucket, { create: false });
    const held = kv ? (await createKvQuarantineStore(kv).list()).filter((r) => r.quarantinedAt) : [];
    if (values.json) {
      for (const r of held) io.stdout.write(`${JSON.stringify(summary(r))}\n`);
      return 0;
    }
    if (!held.length) {
      io.stdout.write('no list entry is quarantined\n');
      return 0;
    }
    for (const r of held) {
      const s = summary(r);
      io.stdout.write(
        `${s.list} ${s.hash} since ${s.quarantinedAt} by ${s.quarantinedBy}: ${s.streams} streams${s.label ? ` (${s.label})` : ''}\n`,
      );
    }
    return 0;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

function summary(r: QuarantineRecord) {
  return {
    list: r.list,
    hash: r.hash,
    ...(r.label === undefined ? {} : { label: r.label }),
    quarantinedAt: r.quarantinedAt,
    quarantinedBy: r.quarantinedBy,
    streams: Object.keys(r.streams).length,
  };
}

/** Puts a quarantined entry back into service in the shared state, and reports it (screening.quarantine, state released). */
async function release(argv: string[], io: CommandIO, env: CommandEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...COMMON, by: { type: 'string', default: 'operator' } },
  });
  if (positionals.length !== 2) throw new UsageError('expected LIST and HASH');
  const [list, rawHash] = positionals as [string, string];
  if (!isPdqHex(rawHash)) throw new UsageError('HASH must be 64 hex digits');
  const hash = rawHash.toLowerCase();
  const target = quarantineTarget(values, env);
  const nc = await connectOnce(target.nats);
  try {
    const kv = await openQuarantineBucket(nc, target.bucket, { create: false });
    const { before, after } = kv
      ? await createKvQuarantineStore(kv).update({ list, hash }, (current) =>
          current?.quarantinedAt ? releaseRecord(current, Date.now(), values.by) : undefined,
        )
      : {};
    if (!before?.quarantinedAt || !after) {
      io.stderr.write(`streamscreen hashlist: ${list} ${hash} is not quarantined\n`);
      return 1;
    }
    const event = quarantineEvent(after, target.quarantine, 'released');
    const publisher = createDecisionPublisher({ js: jetstream(nc), logger: silentLogger, options: target.publisher });
    await publisher.publishQuarantine(event, { signal: AbortSignal.timeout(15_000) });
    io.stdout.write(`released ${list} ${hash}: it acts again on every worker (event ${event.eventId})\n`);
    return 0;
  } finally {
    await nc.close().catch(() => undefined);
  }
}

/** Connects, opens the bucket (only `publish` creates it: a look-up should not), runs `body`. */
async function withBucket(
  values: BucketFlags,
  env: CommandEnv,
  body: (os: ObjectStore | null, bucket: string) => Promise<number>,
  create = false,
): Promise<number> {
  const { nats, bucket, replicas } = bucketTarget(values, env);
  const nc = await connectOnce(nats);
  try {
    return await body(
      create ? await openHashListBucket(nc, bucket, { replicas }) : await openHashListBucket(nc, bucket, { create: false }),
      bucket,
    );
  } finally {
    await nc.close().catch(() => undefined);
  }
}

/** One-shot commands should fail fast with the URL in the message, not retry forever. */
export async function connectOnce(nats: NatsConnectionSettings): Promise<NatsConnection> {
  return connectNats(nats, silentLogger, { reconnect: false });
}

function describe(err: unknown): string {
  if (err instanceof HashListError || err instanceof StreamscreenError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
