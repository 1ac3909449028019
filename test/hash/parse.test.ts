import { createHash } from 'node:crypto';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HashListError } from '../../src/domain/errors.js';
import { HashListBuilder } from '../../src/hash/hash-list-builder.js';
import { entryLabel, type HashListData } from '../../src/hash/hash-list.js';
import { parseHashList, parseHashListFile } from '../../src/hash/parse-hashlist.js';
import { pdqToHex } from '../../src/domain/pdq.js';

const SHARED = fileURLToPath(new URL('../../../shared/pdq-vectors/', import.meta.url));
const A = 'd8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22';
const B = 'f0a10efd51c83d429053d48d0fffbc52e34e0e17ada956a9d29685211ea9e58f';
const C = 'adad5a64b5a102e55b62a88052dacd5ae63b847fc337b4b766b399361bc93188';

function bytes(text: string): Uint8Array[] {
  return [new TextEncoder().encode(text)];
}

/** The same text cut into 1..7-byte pieces: line, quote and UTF-8 boundaries fall inside chunks. */
function dribble(text: string): Uint8Array[] {
  const all = new TextEncoder().encode(text);
  const out: Uint8Array[] = [];
  for (let i = 0, k = 1; i < all.length; i += k, k = (k % 7) + 1) out.push(all.subarray(i, i + k));
  return out;
}

function entries(data: HashListData): Array<[string, string | undefined]> {
  return Array.from({ length: data.count }, (_, i) => [pdqToHex(data.hashes.subarray(i * 16, i * 16 + 16)), entryLabel(data, i)]);
}

async function rejection(promise: Promise<unknown>): Promise<HashListError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HashListError);
  return err as HashListError;
}

function refusal(text: string, file: string): Promise<HashListError> {
  return rejection(parseHashList(bytes(text), file));
}

describe('plain-text lists', () => {
  const text = `\uFEFF# known hashes, exported 2024-01-01\n\n${A}\n${B.toUpperCase()}\tseries 7, frame 12\r\n  \n# trailing comment\n${C}\t  spaced label  \n${A}`;

  it('reads hashes and labels, skipping blanks and comments, normalising case', async () => {
    const { data } = await parseHashList(bytes(text), 'list.txt');
    expect(data.format).toBe('text');
    expect(entries(data)).toEqual([
      [A, undefined],
      [B, 'series 7, frame 12'],
      [C, 'spaced label'],
      [A, undefined],
    ]);
    expect(data.stats).toMatchObject({ lines: 8, entries: 4 });
  });

  it('gives the same result however the bytes are chunked', async () => {
    const whole = await parseHashList(bytes(text), 'list.txt');
    const pieces = await parseHashList(dribble(text), 'list.txt');
    expect(entries(pieces.data)).toEqual(entries(whole.data));
    expect(pieces.sha256).toBe(whole.sha256);
  });

  it('hashes exactly the bytes it parsed', async () => {
    const { sha256, bytes: n } = await parseHashList(dribble(text), 'list.txt');
    expect(sha256).toBe(createHash('sha256').update(text).digest('hex'));
    expect(n).toBe(Buffer.byteLength(text));
  });

  it.each([
    ['63 digits', `${A}\n${A.slice(1)}\n`, 2],
    ['65 digits', `${A}\n${A}0\n`, 2],
    ['a space instead of a TAB', `${A}\n${B}\n${C} label\n`, 3],
    ['a non-hex digit', `${A.slice(0, 63)}g\n`, 1],
    ['a CSV line in a text list', `${A},100,file.jpg\n`, 1],
  ])('refuses the whole file for %s, naming file and line', async (_name, body, line) => {
    const err = await refusal(body, '/lists/known.txt');
    expect(err.file).toBe('/lists/known.txt');
    expect(err.line).toBe(line);
    expect(err.code).toBe('hashlist_invalid');
    expect(err.message).toMatch(new RegExp(`^/lists/known.txt:${line}: expected 64 hex digits`));
  });

  it('refuses invalid UTF-8 with the line it occurs on', async () => {
    const chunks = [new TextEncoder().encode(`${A}\n${B}\t`), new Uint8Array([0xff, 0xfe, 0x0a])];
    const err = await rejection(parseHashList(chunks, 'bad.txt'));
    expect(err.message).toMatch(/not valid UTF-8/);
  });

  it('accepts an empty list', async () => {
    const { data } = await parseHashList(bytes('# nothing yet\n'), 'empty.txt');
    expect(data.count).toBe(0);
  });
});

describe('CSV exports', () => {
  it('reads a hash,quality,label header with quoted fields (commas, quotes, newlines)', async () => {
    const csv = `hash,quality,label\n${A},100,plain\n"${B}",49,"has, comma"\n${C},,"says ""hi""\nacross lines"\n`;
    for (const chunks of [bytes(csv), dribble(csv)]) {
      const { data } = await parseHashList(chunks, 'export.csv');
      expect(data.format).toBe('csv');
      expect(entries(data)).toEqual([
        [A, 'plain'],
        [B, 'has, comma'],
        [C, 'says "hi"\nacross lines'],
      ]);
      expect(data.stats).toMatchObject({ entries: 3, withQuality: 2, lowQuality: 1 });
    }
  });

  it('reads python-threatexchange signal exports, skipping and counting non-PDQ rows', async () => {
    const csv = `collab,signal_type,signal_str,category,tags\nSample Signals,pdq,${A},WORTH_INVESTIGATING,\nSample Signals,md5,d41d8cd98f00b204e9800998ecf8427e,WORTH_INVESTIGATING,\nSample Signals,PDQ,${B},HIGH_RISK,"a b"\n`;
    const { data } = await parseHashList(bytes(csv), 'te-signals.csv');
    expect(entries(data)).toEqual([
      [A, 'WORTH_INVESTIGATING'],
      [B, 'HIGH_RISK'],
    ]);
    expect(data.stats.skippedOtherTypes).toBe(1);
  });

  it('reads ThreatExchange headerless hash dumps (hash,descriptor id,time,tags), id as label', async () => {
    const csv = `${A},2880742865368386,2020-07-31T18:47:52+0000,media_priority_pdq_samples media_type_photo\n${B},2888629371260007,2020-07-31T18:47:52+0000,media_type_photo\n`;
    const { data } = await parseHashList(bytes(csv), 'dump.csv');
    expect(entries(data)).toEqual([
      [A, '2880742865368386'],
      [B, '2888629371260007'],
    ]);
  });

  it('reads the PDQ reference hasher output (hash,quality,filename)', async () => {
    const csv = `${A},100,bridge-1-original.jpg\n${B},43,wee.jpg\n`;
    const { data } = await parseHashList(bytes(csv), 'hasher-output.csv');
    expect(entries(data)).toEqual([
      [A, 'bridge-1-original.jpg'],
      [B, 'wee.jpg'],
    ]);
    expect(data.stats).toMatchObject({ withQuality: 2, lowQuality: 1 });
  });

  it('reads the shared conformance CSV (file,hash,quality,...) from disk', async () => {
    const path = join(SHARED, 'decoded-hashes.csv');
    const lines = (await readFile(path, 'utf8')).trim().split('\n');
    const { data, sha256 } = await parseHashListFile(path);
    expect(data.count).toBe(lines.length - 1);
    const [file, hash] = lines[1]!.split(',');
    expect(entries(data)[0]).toEqual([hash, file]);
    expect(sha256).toBe(
      createHash('sha256')
        .update(await readFile(path))
        .digest('hex'),
    );
  });

  it.each([
    ['no hash column', 'sha1,label\nabc,x\n', 1, /no hash column/],
    ['a short row', `hash,label\n${A},x\n${B}\n`, 3, /expected 2 fields/],
    ['a bad hash', `hash,label\n${A},x\n${B.slice(2)},y\n`, 3, /not a PDQ hash/],
    ['a bad quality', `hash,quality\n${A},100\n${B},101\n`, 3, /quality must be/],
    ['an unclosed quote', `hash,label\n${A},x\n${B},"open\n${C},z\n`, 3, /not closed/],
    ['text after a closing quote', `hash,label\n${A},"x"y\n`, 2, /after a closing quote/],
    ['an empty signal type', `signal_type,signal_str\npdq,${A}\n,${B}\n`, 3, /empty signal type/],
  ])('refuses the whole file for %s, naming the line', async (_name, csv, line, message) => {
    const err = await refusal(csv, 'lists/bad.csv');
    expect(err.line).toBe(line);
    expect(err.file).toBe('lists/bad.csv');
    expect(err.message).toMatch(message);
  });
});

describe('format detection and files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hashlist-parse-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('sniffs text vs CSV when the name has no telling extension', async () => {
    const text = await parseHashList(bytes(`# c\n${A}\tx\n`), 'list');
    expect(text.data.format).toBe('text');
    const csv = await parseHashList(bytes(`# c\nhash,label\n${A},x\n`), 'list');
    expect(csv.data.format).toBe('csv');
    expect(entries(csv.data)).toEqual([[A, 'x']]);
    const headerless = await parseHashList(dribble(`${A},100,a.jpg\n`), 'list');
    expect(headerless.data.format).toBe('csv');
  });

  it('honours a forced format over the extension', async () => {
    const { data } = await parseHashList(bytes(`hash\n${A}\n`), 'odd.txt', { format: 'csv' });
    expect(entries(data)).toEqual([[A, undefined]]);
  });

  it('reports a missing file as a retryable HashListError', async () => {
    const err = await rejection(parseHashListFile(join(dir, 'absent.txt')));
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/absent\.txt: cannot read/);
  });

  it('keeps 200k distinct labels compactly and returns each one', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 200_000; i++) lines.push(`${i.toString(16).padStart(64, '0')}\tcase-${i}`);
    const path = join(dir, 'big.txt');
    await writeFile(path, lines.join('\n'));
    const { data } = await parseHashListFile(path);
    expect(data.count).toBe(200_000);
    expect(entryLabel(data, 0)).toBe('case-0');
    expect(entryLabel(data, 199_999)).toBe('case-199999');
    expect(pdqToHex(data.hashes.subarray(16 * 4095, 16 * 4096))).toBe((4095).toString(16).padStart(64, '0'));
    // 32 bytes of hash + 4 of label id + label bytes and offsets: no heap string per entry.
    expect(data.labels.bytes).toBeLessThan(200_000 * 16);
  });
});

describe('HashListBuilder storage', () => {
  const hexOf = (i: number): string => i.toString(16).padStart(64, '0');
  function fill(builder: HashListBuilder, n: number): HashListData {
    let refused = 0;
    for (let i = 0; i < n; i++) if (!builder.addHex(hexOf(i), 0, i % 3 === 0 ? `L${i % 7}` : undefined)) refused++;
    expect(refused).toBe(0);
    return builder.finish('text');
  }
  function check(data: HashListData, n: number): void {
    expect(data.count).toBe(n);
    expect(data.hashes.length).toBe(n * 16);
    for (const i of [0, 1, n >> 1, n - 2, n - 1]) {
      expect(pdqToHex(data.hashes.subarray(i * 16, i * 16 + 16))).toBe(hexOf(i));
      expect(entryLabel(data, i)).toBe(i % 3 === 0 ? `L${i % 7}` : undefined);
    }
    expect(data.labels.size).toBe(7);
  }

  it('returns a reservation that fits as a view, without a second copy', () => {
    const data = fill(new HashListBuilder(100_000), 100_000);
    check(data, 100_000);
    expect(data.hashes.buffer.byteLength).toBe(100_000 * 32);
  });

  it('spills past a reservation that was too small into chunks, in order', () => {
    check(fill(new HashListBuilder(1_000), 200_000), 200_000);
    check(fill(new HashListBuilder(0), 70_000), 70_000);
  });

  it('copies out of a reservation that was far too large, freeing the rest', () => {
    const data = fill(new HashListBuilder(50_000), 1_000);
    check(data, 1_000);
    expect(data.hashes.buffer.byteLength).toBe(1_000 * 32);
  });

  it('refuses non-hex input without adding an entry', () => {
    const b = new HashListBuilder(4);
    expect(b.addHex(`${hexOf(1).slice(0, 63)}x`, 0)).toBe(false);
    expect(b.addHex(hexOf(1).slice(0, 60), 0)).toBe(false);
    expect(b.count).toBe(0);
  });
});
