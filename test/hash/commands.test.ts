import { writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketTarget, run as hashlist } from '../../src/cli/commands/hashlist.js';
import { run as match } from '../../src/cli/commands/match.js';
import { ConfigSchema, listIdFromPath } from '../../src/config/index.js';
import { pdqToHex } from '../../src/domain/pdq.js';
import { nearDuplicate, randomHashes, seededRandom } from '../support/synthetic-hashes.js';
import { captureIO as capture } from '../support/capture-io.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

const rand = seededRandom(31337);
const pool = randomHashes(16, rand);
const hex = (i: number): string => pdqToHex(pool.subarray(i * 16, i * 16 + 16));
const nearHex = (i: number, bits: number): string => pdqToHex(nearDuplicate(pool, i, bits, rand));

describe('bucketTarget: where hashlist and match connect', () => {
  let dir: string;
  let config: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hashlist-target-'));
    config = join(dir, 'streamscreen.json');
    await writeFile(config, JSON.stringify({ nats: { url: 'nats://file:1' }, hash: { objectStore: { bucket: 'from-file' } } }));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('takes the worker configuration: config defaults, then the file, then NATS_URL; flags win over all', () => {
    const target = (...args: Parameters<typeof bucketTarget>) => {
      const { url, bucket, nats } = bucketTarget(...args);
      expect(nats.servers).toEqual([url]);
      return { url, bucket };
    };
    const defaults = ConfigSchema.parse({});
    expect(target({}, {})).toEqual({ url: defaults.nats.url, bucket: defaults.hash.objectStore.bucket });
    expect(target({ config }, {})).toEqual({ url: 'nats://file:1', bucket: 'from-file' });
    expect(target({}, { STREAMSCREEN_CONFIG: config })).toEqual({ url: 'nats://file:1', bucket: 'from-file' });
    expect(target({ config }, { NATS_URL: 'nats://env:2' })).toEqual({ url: 'nats://env:2', bucket: 'from-file' });
    expect(target({ config, 'nats-url': 'nats://flag:3', bucket: 'from-flag' }, { NATS_URL: 'nats://env:2' })).toEqual({
      url: 'nats://flag:3',
      bucket: 'from-flag',
    });
  });

  it('refuses a config file that does not validate, naming the problem', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ hash: { objectStore: { bucket: 'no spaces allowed' } } }));
    expect(() => bucketTarget({ config: bad }, {})).toThrow(/hash\.objectStore\.bucket/);
  });
});

describe('hashlist and match commands against a real nats-server', () => {
  let server: NatsServerHandle;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = await startNatsServer();
    dir = await mkdtemp(join(tmpdir(), 'hashlist-cli-'));
    env = { NATS_URL: server.url };
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('publishes, lists, inspects, matches and deletes', async () => {
    const kill = join(dir, 'kill.txt');
    const review = join(dir, 'review.csv');
    await writeFile(kill, `${hex(0)}\tcase 4\n${hex(1)}\n`);
    await writeFile(review, `hash,quality,label\n${hex(1)},90,lookalike\n`);

    let c = capture();
    expect(await hashlist(['publish', kill, '--id', 'known', '--label', 'NCMEC', '--source', 'ncmec'], c.io, env)).toBe(0);
    expect(c.out()).toMatch(/^published known to screening-hashlists: 2 hashes, text, action kill, sha256 [0-9a-f]{64}\n$/);
    c = capture();
    expect(await hashlist(['publish', review, '--id', 'review', '--action', 'escalate', '--nats-url', server.url], c.io, {})).toBe(0);

    c = capture();
    expect(await hashlist(['ls'], c.io, env)).toBe(0);
    const lines = c.out().trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+ACTION\s+ENABLED\s+HASHES/);
    expect(lines[1]).toMatch(/^known\s+kill\s+yes\s+2\s+.*NCMEC, source ncmec$/);
    expect(lines[2]).toMatch(/^review\s+escalate\s+yes\s+1\s/);

    c = capture();
    expect(await hashlist(['ls', '--json'], c.io, env)).toBe(0);
    expect(
      c
        .out()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(['known', 'review']);

    c = capture();
    expect(await hashlist(['inspect', 'known'], c.io, env)).toBe(0);
    const inspected = JSON.parse(c.out());
    expect(inspected).toMatchObject({
      id: 'known',
      metadata: { action: 'kill', count: 2, label: 'NCMEC', source: 'ncmec', format: 'text' },
    });
    expect(inspected.object.digest).toMatch(/^SHA-256=/);

    c = capture();
    expect(await match([nearHex(1, 7)], c.io, env)).toBe(0);
    expect(
      c
        .out()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { list: 'known', label: 'NCMEC', distance: 7, hash: hex(1), action: 'kill' },
      { list: 'review', label: 'lookalike', distance: 7, hash: hex(1), action: 'escalate' },
    ]);

    c = capture();
    expect(await match([nearHex(1, 7), '--lists', 'review'], c.io, env)).toBe(0);
    expect(c.out().trim().split('\n')).toHaveLength(1);

    c = capture();
    expect(await match([nearHex(0, 40), '--radius', '31'], c.io, env)).toBe(1);
    expect(c.out()).toBe('');
    c = capture();
    expect(await match([nearHex(0, 40), '--radius', '40'], c.io, env)).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({ list: 'known', label: 'case 4', distance: 40 });

    c = capture();
    expect(await hashlist(['delete', 'known'], c.io, env)).toBe(0);
    c = capture();
    expect(await match([hex(0)], c.io, env)).toBe(1);
    c = capture();
    expect(await hashlist(['inspect', 'known'], c.io, env)).toBe(1);
    expect(c.err()).toMatch(/no list 'known'/);
  });

  it('publishes to and matches from the bucket the config file names, as workers read it', async () => {
    const config = join(dir, 'worker-config.json');
    await writeFile(config, JSON.stringify({ nats: { url: server.url }, hash: { objectStore: { bucket: 'configured-lists' } } }));
    const file = join(dir, 'configured.txt');
    await writeFile(file, `${hex(6)}\n`);

    let c = capture();
    expect(await hashlist(['publish', file, '--id', 'configured', '--config', config], c.io, {})).toBe(0);
    expect(c.out()).toMatch(/^published configured to configured-lists: 1 hashes/);
    c = capture();
    expect(await match([nearHex(6, 2), '--config', config], c.io, {})).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({ list: 'configured', distance: 2 });
    // STREAMSCREEN_CONFIG names the same file for commands started like the worker.
    c = capture();
    expect(await hashlist(['ls', '--json'], c.io, { STREAMSCREEN_CONFIG: config })).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({ id: 'configured' });
    // Nothing went to the default bucket.
    c = capture();
    expect(await match([hex(6)], c.io, env)).toBe(1);
    // --bucket still overrides the configured bucket.
    c = capture();
    expect(await hashlist(['inspect', 'configured', '--config', config, '--bucket', 'screening-hashlists'], c.io, {})).toBe(1);
    expect(c.err()).toMatch(/no list 'configured' in screening-hashlists/);
  });

  it('refuses to publish an invalid file, naming file and line, and publishes nothing', async () => {
    const bad = join(dir, 'bad.txt');
    await writeFile(bad, `${hex(2)}\n\n${hex(3)} oops\n`);
    const c = capture();
    expect(await hashlist(['publish', bad, '--id', 'bad', '--bucket', 'other'], c.io, env)).toBe(1);
    expect(c.err()).toContain(`${bad}:3: expected 64 hex digits`);
    const ls = capture();
    expect(await hashlist(['ls', '--bucket', 'other'], ls.io, env)).toBe(0);
    expect(ls.out()).toBe('no hash lists published\n');
    // Looking did not create the bucket either (only publish does).
    const nc = await server.connect();
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const names: string[] = [];
    for await (const s of (await jetstreamManager(nc)).streams.names()) names.push(s);
    await nc.close();
    expect(names).not.toContain('OBJ_other');
  });

  it('checks a file locally and looks hashes up in local files without NATS', async () => {
    const file = join(dir, 'local-list.csv');
    await writeFile(
      file,
      `collab,signal_type,signal_str,category,tags\nc,pdq,${hex(5)},WORTH_INVESTIGATING,\nc,md5,d41d8cd98f00b204e9800998ecf8427e,X,\n`,
    );
    let c = capture();
    expect(await hashlist(['check', file], c.io)).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({ format: 'csv', entries: 1, skippedOtherTypes: 1 });
    c = capture();
    expect(await match([nearHex(5, 3), '--file', `te=${file}`, '--nats-url', 'nats://127.0.0.1:1'], c.io, {})).toBe(0);
    expect(JSON.parse(c.out())).toEqual({ list: 'te', label: 'WORTH_INVESTIGATING', distance: 3, hash: hex(5), action: 'kill' });
    c = capture();
    expect(await match([nearHex(5, 3), '--file', file], c.io, {})).toBe(0);
    expect(JSON.parse(c.out()).list).toBe('local-list');
    // An unnamed --file list gets the id a worker gives the same file in STREAMSCREEN_HASH_LISTS.
    const odd = join(dir, 'partner list.v2.txt');
    await writeFile(odd, `${hex(5)}\n`);
    c = capture();
    expect(await match([hex(5), '--file', odd], c.io, {})).toBe(0);
    expect(JSON.parse(c.out()).list).toBe(listIdFromPath(odd));
    expect(listIdFromPath(odd)).toBe('partner_list_v2');
    // Local look-ups read no config: one that does not even exist is not an error.
    c = capture();
    expect(
      await match([nearHex(5, 3), '--file', file, '--config', join(dir, 'missing.json')], c.io, {
        STREAMSCREEN_CONFIG: join(dir, 'missing.json'),
      }),
    ).toBe(0);
    expect(JSON.parse(c.out()).list).toBe('local-list');
    c = capture();
    expect(await match([nearHex(5, 3), '--config', join(dir, 'missing.json')], c.io, {})).toBe(2);
    expect(c.err()).toMatch(/cannot read config file .*missing\.json/);
  });

  it('reports usage errors with status 2 and an unreachable server with status 1 or 2', async () => {
    let c = capture();
    expect(await hashlist(['publish', 'x.txt'], c.io, env)).toBe(2);
    expect(c.err()).toMatch(/--id is required/);
    c = capture();
    expect(await hashlist(['publish', 'x.txt', '--id', 'a', '--action', 'ban'], c.io, env)).toBe(2);
    c = capture();
    expect(await hashlist(['frobnicate'], c.io, env)).toBe(2);
    c = capture();
    expect(await match(['abc'], c.io, env)).toBe(2);
    c = capture();
    expect(await match([hex(0), '--radius', '-1'], c.io, env)).toBe(2);
    c = capture();
    expect(await hashlist(['ls', '--nats-url', 'nats://127.0.0.1:1'], c.io, env)).toBe(1);
    expect(c.err()).toMatch(/cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/);
    c = capture();
    expect(await match([hex(0), '--nats-url', 'nats://127.0.0.1:1'], c.io, env)).toBe(2);
  });
});
