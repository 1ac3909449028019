import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matcherOptions } from '../support/stage-options.js';
import { ConfigError, HashListError } from '../../src/domain/errors.js';
import { createFileHashLists } from '../../src/hash/file-lists.js';
import { createHashMatcher } from '../../src/hash/hash-matcher.js';
import { indexParsedList } from '../../src/hash/load-list.js';
import { parseHashList } from '../../src/hash/parse-hashlist.js';
import { pdqFromHex, pdqToHex } from '../../src/domain/pdq.js';
import { nearDuplicate, randomHashes, seededRandom } from '../support/synthetic-hashes.js';

const rand = seededRandom(2024);
const pool = randomHashes(64, rand);
const hex = (i: number): string => pdqToHex(pool.subarray(i * 16, i * 16 + 16));
/** A query exactly `bits` away from pool entry i. */
const near = (i: number, bits: number): Uint16Array => nearDuplicate(pool, i, bits, rand);

async function loaded(id: string, text: string, action: 'kill' | 'escalate' | 'negative' = 'kill', label?: string, maxDistance?: number) {
  const parsed = await parseHashList([new TextEncoder().encode(text)], `${id}.txt`);
  return indexParsedList(
    parsed,
    { id, action, ...(label ? { label } : {}), ...(maxDistance === undefined ? {} : { maxDistance }), origin: `test:${id}` },
    { minIndexedSize: 2 },
  );
}

describe('hash matcher', () => {
  it('is not ready until every source has loaded once', async () => {
    const matcher = createHashMatcher(matcherOptions());
    expect(matcher.ready).toBe(false);
    const files = matcher.source('files');
    const bucket = matcher.source('bucket');
    files.replaceAll([await loaded('a', `${hex(0)}\n`)]);
    expect(matcher.ready).toBe(false);
    bucket.markLoaded();
    expect(matcher.ready).toBe(true);
  });

  it('reports list, label, distance, hash and action; kill lists first; cross-list duplicates kept', async () => {
    const matcher = createHashMatcher(matcherOptions());
    matcher
      .source('t')
      .replaceAll([
        await loaded('csam-confirmed', `${hex(1)}\tcase 17\n${hex(2)}\n`, 'kill', 'NCMEC'),
        await loaded('review', `${hex(1)}\n${hex(3)}\n`, 'escalate', 'internal review'),
      ]);
    const q = near(1, 9);
    expect(matcher.match(q, 100)).toEqual([
      { list: 'csam-confirmed', label: 'case 17', distance: 9, hash: hex(1), action: 'kill' },
      { list: 'review', label: 'internal review', distance: 9, hash: hex(1), action: 'escalate' },
    ]);
    expect(matcher.match(near(3, 0), 100)).toEqual([
      { list: 'review', label: 'internal review', distance: 0, hash: hex(3), action: 'escalate' },
    ]);
    expect(matcher.match(near(4, 0), 100)).toEqual([]);
  });

  it('matches each list at its own distance; a look-up radius overrides them all', async () => {
    const matcher = createHashMatcher(matcherOptions({ maxDistance: 31 }));
    matcher
      .source('t')
      .replaceAll([
        await loaded('tight', `${hex(10)}\n`, 'kill', undefined, 8),
        await loaded('loose', `${hex(10)}\n`, 'escalate', undefined, 40),
        await loaded('default', `${hex(10)}\n`, 'kill'),
      ]);
    const lists = (bits: number) => matcher.match(near(10, bits), 100).map((m) => m.list);
    expect(lists(8)).toEqual(['default', 'tight', 'loose']);
    expect(lists(9)).toEqual(['default', 'loose']);
    expect(lists(31)).toEqual(['default', 'loose']);
    expect(lists(35)).toEqual(['loose']);
    expect(lists(41)).toEqual([]);
    expect(matcher.lookup(near(10, 35), { radius: 36 }).map((m) => m.list)).toEqual(['default', 'tight', 'loose']);
    expect(matcher.lists().map((l) => [l.id, l.maxDistance])).toEqual([
      ['default', 31],
      ['loose', 40],
      ['tight', 8],
    ]);
  });

  it('a frame within a negative list suppresses every other match; the rest of the frames match as before', async () => {
    const matcher = createHashMatcher(matcherOptions());
    matcher
      .source('t')
      .replaceAll([
        await loaded('confirmed', `${hex(20)}\tcase 1\n${hex(21)}\n`, 'kill'),
        await loaded('review', `${hex(20)}\n`, 'escalate'),
        await loaded('logo-cards', `${hex(20)}\tplatform logo\n`, 'negative', undefined, 12),
      ]);
    const close = matcher.matchFrame([near(20, 5)], 100);
    expect(close.matches).toEqual([]);
    expect(close.negative).toEqual([{ list: 'logo-cards', label: 'platform logo', distance: 5, hash: hex(20) }]);
    expect(close.suppressed.map((m) => [m.list, m.action, m.distance])).toEqual([
      ['confirmed', 'kill', 5],
      ['review', 'escalate', 5],
    ]);
    expect(matcher.match(near(20, 5), 100)).toEqual([]);
    // Beyond the negative list's own distance (12) the frame is not recognised: its matches act.
    const far = matcher.matchFrame([near(20, 20)], 100);
    expect(far.negative).toEqual([]);
    expect(far.matches.map((m) => m.list)).toEqual(['confirmed', 'review']);
    // A negative hit by any of a frame's dihedral hashes counts.
    expect(matcher.matchFrame([near(21, 3), near(20, 1)], 100).matches).toEqual([]);
    expect(matcher.matchFrame([near(21, 3)], 100).matches.map((m) => m.list)).toEqual(['confirmed']);
    // Operators see negative hits in a look-up, with the others.
    expect(matcher.lookup(near(20, 5)).map((m) => [m.list, m.action])).toEqual([
      ['confirmed', 'kill'],
      ['review', 'escalate'],
      ['logo-cards', 'negative'],
    ]);
  });

  it('reports a hash repeated within one list once', async () => {
    const matcher = createHashMatcher(matcherOptions());
    matcher.source('t').replaceAll([await loaded('a', `${hex(5)}\tfirst\n${hex(5).toUpperCase()}\tsecond\n`)]);
    expect(matcher.match(near(5, 2), 90)).toHaveLength(1);
  });

  it('matches at distance 31 but not 32 by default, and honours maxDistance', async () => {
    const matcher = createHashMatcher(matcherOptions());
    matcher.source('t').replaceAll([await loaded('a', `${hex(6)}\n`)]);
    expect(matcher.match(near(6, 31), 100)).toHaveLength(1);
    expect(matcher.match(near(6, 32), 100)).toEqual([]);
    const strict = createHashMatcher(matcherOptions({ maxDistance: 10 }));
    strict.source('t').replaceAll([await loaded('a', `${hex(6)}\n`)]);
    expect(strict.match(near(6, 10), 100)).toHaveLength(1);
    expect(strict.match(near(6, 11), 100)).toEqual([]);
  });

  it('does not match frames below the minimum quality', async () => {
    const matcher = createHashMatcher(matcherOptions());
    matcher.source('t').replaceAll([await loaded('a', `${hex(7)}\n`)]);
    const exact = near(7, 0);
    expect(matcher.match(exact, 49)).toEqual([]);
    expect(matcher.match(exact, Number.NaN)).toEqual([]);
    expect(matcher.match(exact, 50)).toHaveLength(1);
    const lenient = createHashMatcher(matcherOptions({ minQuality: 0 }));
    lenient.source('t').replaceAll([await loaded('a', `${hex(7)}\n`)]);
    expect(lenient.match(exact, 0)).toHaveLength(1);
  });

  it('matches dihedral variants once per entry at the smallest distance', async () => {
    const matcher = createHashMatcher(matcherOptions());
    matcher.source('t').replaceAll([await loaded('a', `${hex(8)}\n${hex(9)}\n`)]);
    const found = matcher.matchAny([near(8, 20), near(8, 4), near(9, 30), pdqFromHex(hex(10))], 100);
    expect(found.map((m) => [m.hash, m.distance])).toEqual([
      [hex(8), 4],
      [hex(9), 30],
    ]);
  });

  it('look-up filters lists and takes any radius, without the quality gate', async () => {
    const matcher = createHashMatcher(matcherOptions());
    matcher.source('t').replaceAll([await loaded('a', `${hex(11)}\n`), await loaded('b', `${hex(11)}\n`)]);
    expect(matcher.lookup(near(11, 40), { radius: 40, lists: ['b'] }).map((m) => m.list)).toEqual(['b']);
    expect(matcher.lookup(near(11, 40))).toEqual([]);
  });

  it('refuses a list id another source already serves, keeping the snapshot as it was', async () => {
    const matcher = createHashMatcher(matcherOptions());
    matcher.source('files').replaceAll([await loaded('a', `${hex(12)}\n`)]);
    const other = matcher.source('bucket');
    const put = [await loaded('b', `${hex(13)}\n`), await loaded('a', `${hex(14)}\n`)];
    expect(() => other.apply({ put })).toThrow(HashListError);
    expect(matcher.lists().map((l) => [l.id, l.owner])).toEqual([['a', 'files']]);
    expect(matcher.ready).toBe(false);
  });
});

describe('file lists: load, reload, atomic swap', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hashlist-files-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('loads all or nothing at start: a bad file rejects with file and line, the matcher stays unready', async () => {
    const good = join(dir, 'good.txt');
    const bad = join(dir, 'bad.txt');
    await writeFile(good, `${hex(20)}\n`);
    await writeFile(bad, `${hex(21)}\n${hex(22)}\n${hex(23).slice(3)}\n`);
    const matcher = createHashMatcher(matcherOptions());
    const files = createFileHashLists({
      sink: matcher.source('files'),
      lists: [
        { id: 'good', path: good },
        { id: 'bad', path: bad },
      ],
    });
    await expect(files.load()).rejects.toThrow(`${bad}:3: expected 64 hex digits`);
    expect(matcher.ready).toBe(false);
    expect(matcher.lists()).toEqual([]);
  });

  it('reload: a bad file keeps its previous version serving; changed files swap in; unchanged are kept', async () => {
    const kill = join(dir, 'kill.txt');
    const esc = join(dir, 'esc.csv');
    await writeFile(kill, `${hex(30)}\n`);
    await writeFile(esc, `hash,label\n${hex(31)},first\n`);
    const matcher = createHashMatcher(matcherOptions());
    const files = createFileHashLists({
      sink: matcher.source('files'),
      lists: [
        { id: 'kill', path: kill, label: 'known' },
        { id: 'esc', path: esc, action: 'escalate' },
      ],
    });
    expect(await files.load()).toMatchObject({ loaded: ['kill', 'esc'], failed: [] });
    expect(matcher.ready).toBe(true);
    expect(matcher.match(near(30, 3), 80)).toMatchObject([{ list: 'kill', label: 'known', action: 'kill' }]);

    await writeFile(kill, `${hex(30)}\nnot a hash\n`);
    await writeFile(esc, `hash,label\n${hex(32)},second\n`);
    const report = await files.reload();
    expect(report.loaded).toEqual(['esc']);
    expect(report.failed.map((f) => [f.id, f.error.line, f.error.file])).toEqual([['kill', 2, kill]]);
    expect(matcher.match(near(30, 3), 80)).toMatchObject([{ list: 'kill' }]);
    expect(matcher.match(near(31, 0), 80)).toEqual([]);
    expect(matcher.match(near(32, 0), 80)).toMatchObject([{ list: 'esc', label: 'second', action: 'escalate' }]);

    await writeFile(kill, `${hex(33)}\n`);
    const before = matcher.lists().find((l) => l.id === 'esc')!;
    const third = await files.reload();
    expect(third).toMatchObject({ loaded: ['kill'], unchanged: ['esc'], failed: [] });
    expect(matcher.lists().find((l) => l.id === 'esc')!.loadedAt).toBe(before.loadedAt);
    expect(matcher.match(near(30, 0), 80)).toEqual([]);
    expect(matcher.match(near(33, 0), 80)).toHaveLength(1);

    const fourth = await files.reload([
      { id: 'kill', path: kill },
      { id: 'esc', path: esc, enabled: false },
    ]);
    expect(fourth.removed).toEqual(['esc']);
    expect(matcher.lists().map((l) => l.id)).toEqual(['kill']);
  });

  it('reload keeps a list whose file was rewritten with the same bytes, and sees a change that kept size and mtime', async () => {
    const path = join(dir, 'same-bytes.txt');
    await writeFile(path, `${hex(56)}\n`);
    const matcher = createHashMatcher(matcherOptions());
    const files = createFileHashLists({ sink: matcher.source('files'), lists: [{ id: 'same', path }] });
    await files.load();
    const first = matcher.lists()[0]!;

    await writeFile(path, `${hex(56)}\n`);
    expect(await files.reload()).toMatchObject({ loaded: [], unchanged: ['same'], failed: [] });
    expect(matcher.lists()[0]!.loadedAt).toBe(first.loadedAt);

    // Same length, mtime put back: the content still decides.
    const { mtime } = await stat(path);
    await writeFile(path, `${hex(57)}\n`);
    await utimes(path, mtime, mtime);
    expect(await files.reload()).toMatchObject({ loaded: ['same'], unchanged: [], failed: [] });
    expect(matcher.match(near(57, 0), 90)).toMatchObject([{ list: 'same' }]);
    expect(matcher.match(near(56, 0), 90)).toEqual([]);
    expect(await files.reload()).toMatchObject({ loaded: [], unchanged: ['same'] });
  });

  it('reload refuses only a list whose id another source serves; the rest still swap in', async () => {
    const mine = join(dir, 'mine.txt');
    const taken = join(dir, 'taken.txt');
    await writeFile(mine, `${hex(50)}\n`);
    await writeFile(taken, `${hex(51)}\n`);
    const matcher = createHashMatcher(matcherOptions());
    const bucket = matcher.source('nats');
    bucket.apply({ put: [await loaded('taken', `${hex(52)}\n`)] });
    const files = createFileHashLists({ sink: matcher.source('files'), lists: [{ id: 'mine', path: mine }] });
    await files.load();

    await writeFile(mine, `${hex(53)}\n`);
    const report = await files.reload([
      { id: 'mine', path: mine },
      { id: 'taken', path: taken },
    ]);
    expect(report.loaded).toEqual(['mine']);
    expect(report.failed.map((f) => [f.id, f.error.code])).toEqual([['taken', 'hashlist_invalid']]);
    expect(report.failed[0]!.error.message).toMatch(/list id 'taken' is already served by nats/);
    expect(matcher.lists().map((l) => [l.id, l.owner])).toEqual([
      ['mine', 'files'],
      ['taken', 'nats'],
    ]);
    expect(matcher.match(near(53, 0), 90)).toMatchObject([{ list: 'mine' }]);
    expect(matcher.match(near(52, 0), 90)).toMatchObject([{ list: 'taken' }]);
    expect(matcher.match(near(51, 0), 90)).toEqual([]);

    // Once the other source lets the id go, the next reload takes it.
    bucket.apply({ remove: ['taken'] });
    expect(await files.reload()).toMatchObject({ loaded: ['taken'], unchanged: ['mine'], failed: [] });
    expect(matcher.match(near(51, 0), 90)).toMatchObject([{ list: 'taken' }]);
  });

  it('initial load stays all or nothing when an id is served by another source', async () => {
    const a = join(dir, 'a-first.txt');
    await writeFile(a, `${hex(54)}\n`);
    const matcher = createHashMatcher(matcherOptions());
    matcher.source('nats').apply({ put: [await loaded('b', `${hex(55)}\n`)] });
    const files = createFileHashLists({
      sink: matcher.source('files'),
      lists: [
        { id: 'a', path: a },
        { id: 'b', path: a },
      ],
    });
    await expect(files.load()).rejects.toThrow(/list id 'b' is already served by nats/);
    expect(matcher.lists().map((l) => l.id)).toEqual(['b']);
    expect(matcher.ready).toBe(false);
  });

  it('keeps serving the old index while a large replacement is parsed and built', async () => {
    const path = join(dir, 'big.txt');
    await writeFile(path, `${hex(40)}\n`);
    const matcher = createHashMatcher(matcherOptions());
    const files = createFileHashLists({ sink: matcher.source('files'), lists: [{ id: 'big', path }] });
    await files.load();
    const many = randomHashes(150_000, seededRandom(5));
    const lines: string[] = [];
    for (let i = 0; i < 150_000; i++) lines.push(pdqToHex(many.subarray(i * 16, i * 16 + 16)));
    await writeFile(path, lines.join('\n'));
    const reloading = files.reload();
    let servedOld = 0;
    let done = false;
    void reloading.then(() => {
      done = true;
    });
    while (!done) {
      // Between the reload's steps, frames still match against the complete old list.
      expect(matcher.match(near(40, 1), 90)).toHaveLength(1);
      servedOld++;
      await new Promise((r) => setImmediate(r));
    }
    expect((await reloading).loaded).toEqual(['big']);
    expect(servedOld).toBeGreaterThan(3);
    expect(matcher.match(near(40, 1), 90)).toEqual([]);
    expect(matcher.match(nearDuplicate(many, 77_777, 12, rand), 90)).toMatchObject([{ list: 'big', distance: 12 }]);
    expect(matcher.lists()[0]).toMatchObject({ count: 150_000, index: 'mih' });
  });

  it('refuses bad configuration with every issue listed', () => {
    const matcher = createHashMatcher(matcherOptions());
    expect(() =>
      createFileHashLists({
        sink: matcher.source('files'),
        lists: [{ id: 'a.b', path: 'x' }, { id: 'c' }, { id: 'c', path: 'y', action: 'ban' as never }],
      }),
    ).toThrow(ConfigError);
  });
});
