import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/index.js';
import { openCaseStore } from '../../../src/worker/cases/case-store.js';
import { downloadHashList, openHashListBucket } from '../../../src/hash/object-store-lists.js';
import { createListEditor } from '../../../src/worker/review/list-editor.js';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.js';

const hash = (n: number) => n.toString(16).padStart(2, '0').repeat(32);

describe('add-to-list editor', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await server.connect();
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('concurrent additions from two workers all land in one valid list version, each hash once', async () => {
    const lists = await openHashListBucket(nc, 'screening-hashlists');
    const { kv } = await openCaseStore(jetstream(nc), resolveConfig({}).stages.review);
    const a = createListEditor({ lists: async () => lists, locks: kv, staleMs: 30_000, holder: 'w-a' });
    const b = createListEditor({ lists: async () => lists, locks: kv, staleMs: 30_000, holder: 'w-b' });
    await Promise.all(
      [1, 2, 3, 4, 5, 6].map((n) => (n % 2 ? a : b).add({ id: 'reviewed', action: 'escalate', hash: hash(n), label: `case ${n}` })),
    );
    await a.add({ id: 'reviewed', action: 'escalate', hash: hash(3) });
    // What a worker's sync downloads: the digest and count the metadata states match the bytes.
    const got = await downloadHashList(lists, 'reviewed');
    expect(got!.meta).toMatchObject({ action: 'escalate', count: 6, format: 'text', source: 'streamscreen review' });
    const text = Buffer.from((await lists.getBlob('reviewed'))!).toString();
    expect(
      text
        .trim()
        .split('\n')
        .map((l) => l.slice(0, 64))
        .sort(),
    ).toEqual([1, 2, 3, 4, 5, 6].map(hash).sort());
    expect(text).toContain(`${hash(1)}\tcase 1\n`);
  }, 30_000);

  it('refuses to put a hash meant for one action on a list of the other', async () => {
    const lists = await openHashListBucket(nc, 'screening-hashlists');
    const { kv } = await openCaseStore(jetstream(nc), resolveConfig({}).stages.review);
    const editor = createListEditor({ lists: async () => lists, locks: kv, staleMs: 30_000, holder: 'w-a' });
    await editor.add({ id: 'kill-reviewed', action: 'kill', hash: hash(9) });
    await expect(editor.add({ id: 'kill-reviewed', action: 'escalate', hash: hash(10) })).rejects.toMatchObject({
      code: 'hashlist_invalid',
    });
    // A lock left by a writer that died is taken over once stale.
    await kv.put('listlock.kill-reviewed', JSON.stringify({ holder: 'dead', at: Date.now() - 60_000 }));
    await editor.add({ id: 'kill-reviewed', action: 'kill', hash: hash(11) });
    expect((await downloadHashList(lists, 'kill-reviewed'))!.meta.count).toBe(2);
  }, 30_000);
});
