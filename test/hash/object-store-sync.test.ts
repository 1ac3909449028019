import { createHash } from 'node:crypto';
import { createHooks } from '../../src/domain/hooks.js';
import type { WorkerEvents } from '../../src/worker/events.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashListSyncOptions, matcherOptions } from '../support/stage-options.js';
import { HashListError } from '../../src/domain/errors.js';
import { createFileHashLists } from '../../src/hash/file-lists.js';
import { createHashMatcher, type HashMatcherService } from '../../src/hash/hash-matcher.js';
import { encodeListMetadata, openHashListBucket, publishHashList } from '../../src/hash/object-store-lists.js';
import { createHashListSync, type HashListSync, type HashListSyncEvent } from '../../src/hash/object-store-sync.js';
import { pdqToHex } from '../../src/domain/pdq.js';
import { nearDuplicate, randomHashes, seededRandom } from '../support/synthetic-hashes.js';
import { eventually as pollUntil } from '../support/eventually.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

const rand = seededRandom(99);
const pool = randomHashes(32, rand);
const hex = (i: number): string => pdqToHex(pool.subarray(i * 16, i * 16 + 16));
const near = (i: number): Uint16Array => nearDuplicate(pool, i, 5, rand);

/** How long `probe` took to hold (see test/support/eventually.ts). */
async function eventually<T>(what: string, probe: () => T | undefined | false, timeoutMs = 10_000): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await pollUntil(probe, timeoutMs, what);
  return { value, ms: Date.now() - started };
}

describe('hash list distribution over a NATS Object Store', () => {
  let server: NatsServerHandle;
  let publisherNc: NatsConnection;
  let publisher: ObjectStore;
  let dir: string;
  const workers: Array<{ nc: NatsConnection; sync: HashListSync }> = [];

  beforeAll(async () => {
    server = await startNatsServer();
    publisherNc = await server.connect();
    dir = await mkdtemp(join(tmpdir(), 'hashlist-sync-'));
  });

  afterAll(async () => {
    for (const w of workers) {
      await w.sync.stop();
      await w.nc.close();
    }
    await publisherNc?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function startWorker(
    bucket: string,
    lists?: string[],
  ): Promise<{ matcher: HashMatcherService; sync: HashListSync; events: HashListSyncEvent[] }> {
    const nc = await server.connect();
    const matcher = createHashMatcher(matcherOptions());
    const events: HashListSyncEvent[] = [];
    const sync = createHashListSync({
      nc,
      sink: matcher.source('nats'),
      ...hashListSyncOptions({ bucket, resyncIntervalMs: 0 }),
      events: createHooks<WorkerEvents>(undefined, { 'hashlist.sync': (e) => events.push(e) }),
      ...(lists ? { lists } : {}),
    });
    workers.push({ nc, sync });
    expect(matcher.ready).toBe(false);
    await sync.start();
    expect(matcher.ready).toBe(true);
    return { matcher, sync, events };
  }

  async function publishText(
    bucket: string,
    id: string,
    text: string,
    extra: { action?: 'kill' | 'escalate'; label?: string } = {},
    ext = 'txt',
  ) {
    const file = join(dir, `${id}-${Date.now()}.${ext}`);
    await writeFile(file, text);
    publisher = await openHashListBucket(publisherNc, bucket);
    return publishHashList(publisher, { file, id, source: 'test', ...extra });
  }

  /** What a broken tool or a corrupted transfer would leave: bytes that do not match their claims. */
  async function putRaw(id: string, body: string, meta: { sha256?: string; count: number }) {
    const bytes = new TextEncoder().encode(body);
    const sha256 = meta.sha256 ?? createHash('sha256').update(bytes).digest('hex');
    await publisher.putBlob(
      { name: id, metadata: encodeListMetadata({ id, action: 'kill', sha256, format: 'text', count: meta.count, enabled: true }) },
      bytes,
    );
  }

  it('publish -> a running worker serves it within 10 s; corrupt versions are refused while the old one serves; delete removes it', async () => {
    const bucket = 'hashlists-a';
    const { matcher, sync, events } = await startWorker(bucket);
    expect(matcher.match(near(0), 100)).toEqual([]);

    const published = await publishText(bucket, 'known-csam', `# v1\n${hex(0)}\tcase 1\n${hex(1)}\n`, { label: 'NCMEC' });
    expect(published.meta).toMatchObject({ id: 'known-csam', action: 'kill', count: 2, format: 'text', label: 'NCMEC' });
    const first = await eventually('v1 to serve', () => matcher.match(near(0), 100)[0]);
    expect(first.ms).toBeLessThan(10_000);
    expect(first.value).toMatchObject({ list: 'known-csam', label: 'case 1', hash: hex(0), action: 'kill', distance: 5 });
    expect(matcher.match(near(1), 100)[0]).toMatchObject({ label: 'NCMEC' });

    // A malformed line (its sha256 is honest): refused whole, v1 keeps serving.
    await putRaw('known-csam', `${hex(2)}\n${hex(3).slice(1)}\n`, { count: 2 });
    const refusedParse = await eventually('parse refusal', () => events.find((e) => e.type === 'refused'));
    expect(refusedParse.value).toMatchObject({ id: 'known-csam' });
    expect((refusedParse.value as { error: HashListError }).error.message).toMatch(
      /nats:hashlists-a\/known-csam:2: expected 64 hex digits/,
    );
    expect(matcher.match(near(0), 100)).toHaveLength(1);
    expect(matcher.match(near(2), 100)).toEqual([]);

    // Valid bytes whose sha256 differs from what the publisher recorded: refused too.
    await putRaw('known-csam', `${hex(2)}\n`, { count: 1, sha256: 'ab'.repeat(32) });
    await eventually('sha refusal', () => events.filter((e) => e.type === 'refused').length >= 2);
    expect(String((events.filter((e) => e.type === 'refused')[1] as { error: Error }).error.message)).toMatch(
      /sha256 of the downloaded bytes/,
    );
    expect(matcher.match(near(0), 100)).toHaveLength(1);
    expect(sync.status()).toMatchObject([{ id: 'known-csam', serving: { count: 2 }, lastError: { code: 'hashlist_invalid' } }]);

    // A good v2 replaces v1 atomically.
    await publishText(bucket, 'known-csam', `${hex(4)}\n`);
    await eventually('v2 to serve', () => matcher.match(near(4), 100).length === 1);
    expect(matcher.match(near(0), 100)).toEqual([]);
    expect(sync.status()).toEqual([{ id: 'known-csam', serving: expect.objectContaining({ count: 1 }) }]);

    await publisher.delete('known-csam');
    await eventually('removal', () => matcher.match(near(4), 100).length === 0);
    expect(matcher.lists()).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['loaded', 'refused', 'refused', 'loaded', 'removed']);
  });

  it('a worker starting later loads every list in the bucket before it reports ready; disabling removes one', async () => {
    const bucket = 'hashlists-b';
    await publishText(bucket, 'kill-list', `${hex(10)}\n`);
    await publishText(bucket, 'review-list', `hash,label\n${hex(11)},looks like series 9\n`, { action: 'escalate' }, 'csv');
    const { matcher } = await startWorker(bucket);
    // Ready was asserted inside startWorker right after start(): the lists are already in.
    expect(matcher.lists().map((l) => [l.id, l.action, l.count])).toEqual([
      ['kill-list', 'kill', 1],
      ['review-list', 'escalate', 1],
    ]);
    expect(matcher.match(near(11), 100)).toMatchObject([{ list: 'review-list', label: 'looks like series 9', action: 'escalate' }]);
    const filtered = await startWorker(bucket, ['review-list']);
    expect(filtered.matcher.lists().map((l) => l.id)).toEqual(['review-list']);

    const file = join(dir, 'again.txt');
    await writeFile(file, `${hex(10)}\n`);
    await publishHashList(publisher, { file, id: 'kill-list', enabled: false });
    await eventually('disabled list to go', () => matcher.lists().length === 1);
    expect(matcher.match(near(10), 100)).toEqual([]);
  });

  it('refuses only a bucket list whose id a local file list already serves, at start and on later versions', async () => {
    const bucket = 'hashlists-e';
    await publishText(bucket, 'shared-id', `${hex(27)}\n`);
    await publishText(bucket, 'bucket-only', `${hex(28)}\n`);
    const local = join(dir, 'shared-id.txt');
    await writeFile(local, `${hex(29)}\n`);
    const nc = await server.connect();
    const matcher = createHashMatcher(matcherOptions());
    await createFileHashLists({ sink: matcher.source('files'), lists: [{ id: 'shared-id', path: local }] }).load();
    const events: HashListSyncEvent[] = [];
    const sync = createHashListSync({
      nc,
      sink: matcher.source('nats'),
      ...hashListSyncOptions({ bucket, resyncIntervalMs: 0 }),
      events: createHooks<WorkerEvents>(undefined, { 'hashlist.sync': (e) => events.push(e) }),
    });
    workers.push({ nc, sync });

    await sync.start();
    expect(sync.ready).toBe(true);
    expect(matcher.ready).toBe(true);
    expect(matcher.lists().map((l) => [l.id, l.owner])).toEqual([
      ['bucket-only', 'nats'],
      ['shared-id', 'files'],
    ]);
    expect(matcher.match(near(28), 100)).toMatchObject([{ list: 'bucket-only' }]);
    expect(matcher.match(near(29), 100)).toMatchObject([{ list: 'shared-id' }]);
    expect(matcher.match(near(27), 100)).toEqual([]);
    const refused = events.filter((e): e is Extract<HashListSyncEvent, { type: 'refused' }> => e.type === 'refused');
    expect(refused.map((e) => e.id)).toEqual(['shared-id']);
    expect(refused[0]!.error.message).toMatch(/list id 'shared-id' is already served by files/);
    expect(sync.status()).toEqual([
      { id: 'bucket-only', serving: expect.objectContaining({ count: 1 }) },
      { id: 'shared-id', lastError: expect.objectContaining({ code: 'hashlist_invalid' }) },
    ]);

    // A later version of the colliding list is refused the same way; the bucket's others keep updating.
    await publishText(bucket, 'shared-id', `${hex(30)}\n`);
    await publishText(bucket, 'bucket-only', `${hex(31)}\n`);
    await eventually('bucket-only v2', () => matcher.match(near(31), 100).length === 1);
    await eventually('second refusal', () => events.filter((e) => e.type === 'refused').length === 2);
    expect(matcher.match(near(30), 100)).toEqual([]);
    expect(matcher.match(near(29), 100)).toMatchObject([{ list: 'shared-id' }]);
  });

  it('keeps following the bucket across a nats-server restart', async () => {
    const bucket = 'hashlists-d';
    await publishText(bucket, 'survivor', `${hex(25)}\n`);
    const { matcher } = await startWorker(bucket);
    expect(matcher.match(near(25), 100)).toHaveLength(1);
    await server.restart();
    // The publisher's first request may race its reconnect; retry it like an operator would.
    let publishedV2 = false;
    for (let i = 0; i < 40 && !publishedV2; i++) {
      publishedV2 = await publishText(bucket, 'survivor', `${hex(26)}\n`).then(
        () => true,
        () => new Promise<boolean>((r) => setTimeout(() => r(false), 250)),
      );
    }
    expect(publishedV2).toBe(true);
    const { ms } = await eventually('v2 after restart', () => matcher.match(near(26), 100).length === 1, 15_000);
    expect(ms).toBeLessThan(10_000);
    expect(matcher.match(near(25), 100)).toEqual([]);
  });

  it('publish refuses an invalid file before anything reaches the bucket', async () => {
    const bucket = 'hashlists-c';
    const file = join(dir, 'bad.txt');
    await writeFile(file, `${hex(20)}\nnope\n`);
    const os = await openHashListBucket(publisherNc, bucket);
    await expect(publishHashList(os, { file, id: 'x' })).rejects.toThrow(`${file}:2:`);
    await expect(publishHashList(os, { file, id: 'bad id!' })).rejects.toThrow(/must match/);
    expect(await os.list()).toEqual([]);
  });
});
