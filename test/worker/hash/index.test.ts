import { describe, expect, it } from 'vitest';
import { buildHashIndex } from '../../../src/worker/hash/build-index.js';
import type { HashIndex } from '../../../src/worker/hash/hash-index.js';
import { MihIndex } from '../../../src/worker/hash/index-mih.js';
import { ScanIndex } from '../../../src/worker/hash/index-scan.js';
import { hammingDistance } from '../../../src/domain/pdq.js';
import { clusteredHashes, nearDuplicate, randomHashes, seededRandom } from '../../support/synthetic-hashes.js';
import { searchAll } from './search-all.js';

function entry(hashes: Uint16Array, e: number): Uint16Array {
  return hashes.subarray(e * 16, e * 16 + 16);
}

/** Independent of both indexes: plain hammingDistance to every entry. */
function distances(hashes: Uint16Array, query: Uint16Array): Uint16Array {
  const out = new Uint16Array(hashes.length / 16);
  for (let e = 0; e < out.length; e++) out[e] = hammingDistance(entry(hashes, e), query);
  return out;
}

function within(all: Uint16Array, radius: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  all.forEach((d, e) => {
    if (d <= radius) out.push([e, d]);
  });
  return out;
}

/** Deep equality on thousands of pairs is slow in expect(); compare first, diff only on failure. */
function expectHits(actual: Array<[number, number]>, expected: Array<[number, number]>): void {
  const same = actual.length === expected.length && actual.every(([e, d], i) => e === expected[i]![0] && d === expected[i]![1]);
  if (!same) expect(actual).toEqual(expected);
}

function expectSame(index: HashIndex, hashes: Uint16Array, query: Uint16Array, radius: number, all = distances(hashes, query)): number {
  const expected = within(all, radius);
  expectHits(searchAll(index, query, radius), expected);
  return expected.length;
}

describe('multi-index hashing equals brute force exactly', () => {
  const cases: Array<[string, (rand: () => number) => Uint16Array]> = [
    ['random', (rand) => randomHashes(8_000, rand)],
    ['clustered', (rand) => clusteredHashes(8_000, 20, 48, rand)],
    [
      'near-duplicates',
      (rand) => {
        const base = randomHashes(500, rand);
        const out = new Uint16Array(8_000 * 16);
        for (let i = 0; i < 8_000; i++) out.set(nearDuplicate(base, i % 500, (rand() * 40) >>> 0, rand), i * 16);
        return out;
      },
    ],
  ];

  for (const [name, make] of cases) {
    it(`${name} sets, radii 0..96, random and near queries`, () => {
      const rand = seededRandom(name.length * 7919);
      const hashes = make(rand);
      const size = hashes.length / 16;
      const mih = MihIndex.build(hashes);
      const scan = new ScanIndex(hashes);
      let hits = 0;
      for (let q = 0; q < 40; q++) {
        const query = q % 3 === 0 ? randomHashes(1, rand) : nearDuplicate(hashes, (rand() * size) >>> 0, (rand() * 40) >>> 0, rand);
        const all = distances(hashes, query);
        for (const radius of [0, 1, 15, 16, 17, 31, 32, 47, 63, 96]) {
          hits += expectSame(mih, hashes, query, radius, all);
          expectHits(searchAll(scan, query, radius), searchAll(mih, query, radius));
        }
      }
      // The property is only meaningful if queries actually hit something.
      expect(hits).toBeGreaterThan(100);
    });
  }

  it('finds an entry at exactly distance r and not at r + 1, for every r around slot boundaries', () => {
    const rand = seededRandom(42);
    const hashes = randomHashes(10_000, rand);
    const mih = MihIndex.build(hashes);
    for (const r of [0, 1, 2, 15, 16, 17, 30, 31, 32, 33, 47, 48, 63, 64, 100]) {
      const target = (rand() * 10_000) >>> 0;
      const atR = nearDuplicate(hashes, target, r, rand);
      expect(searchAll(mih, atR, r).map(([e]) => e)).toContain(target);
      expect(searchAll(mih, atR, r - 1).map(([e]) => e)).not.toContain(target);
      const atR1 = nearDuplicate(hashes, target, r + 1, rand);
      expect(searchAll(mih, atR1, r).map(([e]) => e)).not.toContain(target);
      expect(searchAll(mih, atR1, r + 1).find(([e]) => e === target)).toEqual([target, r + 1]);
      expectSame(mih, hashes, atR, r);
      expectSame(mih, hashes, atR1, r);
    }
  });

  it('puts all bit flips of a distance-r neighbour in one slot or spread over all slots alike', () => {
    // Worst cases for the pigeonhole split: r bits concentrated in few slots, or spread evenly.
    const rand = seededRandom(7);
    const hashes = randomHashes(5_000, rand);
    const mih = MihIndex.build(hashes);
    const base = entry(hashes, 123);
    const concentrated = Uint16Array.from(base);
    concentrated[0] = ~concentrated[0]! & 0xffff; // 16 bits in slot 0
    concentrated[1] = concentrated[1]! ^ 0x7fff; // 15 bits in slot 1
    const spread = Uint16Array.from(base);
    for (let s = 0; s < 15; s++) spread[s] = spread[s]! ^ 0x0003; // 2 bits in 15 slots
    spread[15] = spread[15]! ^ 0x0001; // 31 in total, every slot > floor(31/16) except one
    for (const q of [concentrated, spread]) {
      expect(hammingDistance(q, base)).toBe(31);
      expect(searchAll(mih, q, 31).map(([e]) => e)).toContain(123);
      expectSame(mih, hashes, q, 31);
    }
  });

  it('handles r = 0 duplicates, r >= 256, negative r, and an empty index', () => {
    const rand = seededRandom(3);
    const hashes = randomHashes(5_000, rand);
    hashes.set(entry(hashes, 10), 20 * 16); // entry 20 duplicates entry 10
    const mih = MihIndex.build(hashes);
    expect(searchAll(mih, entry(hashes, 10), 0)).toEqual([
      [10, 0],
      [20, 0],
    ]);
    expect(searchAll(mih, entry(hashes, 10), 256)).toHaveLength(5_000);
    expect(searchAll(mih, entry(hashes, 10), 300)).toHaveLength(5_000);
    expect(searchAll(mih, entry(hashes, 10), -1)).toEqual([]);
    const empty = MihIndex.build(new Uint16Array(0));
    expect(searchAll(empty, entry(hashes, 10), 31)).toEqual([]);
  });

  it('builds the same index in event-loop-friendly steps', async () => {
    const rand = seededRandom(11);
    const hashes = randomHashes(9_000, rand);
    const whole = MihIndex.build(hashes);
    const stepped = await MihIndex.buildAsync(hashes, 9_000, 1_000);
    for (let q = 0; q < 20; q++) {
      const query = nearDuplicate(hashes, (rand() * 9_000) >>> 0, 25, rand);
      expectHits(searchAll(stepped, query, 31), searchAll(whole, query, 31));
      expect(searchAll(stepped, query, 31).length).toBeGreaterThan(0);
    }
  });

  it('uses a scan below the configured size and a multi-index above it', () => {
    const hashes = randomHashes(100, seededRandom(1));
    expect(buildHashIndex(hashes, 100).kind).toBe('scan');
    expect(buildHashIndex(hashes, 100, { minIndexedSize: 50 }).kind).toBe('mih');
    expect(buildHashIndex(hashes, 100, { minIndexedSize: 50 }).indexBytes).toBe(16 * (65537 * 4 + 100 * 4));
  });
});
