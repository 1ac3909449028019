import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildHashIndex } from '../../src/hash/build-index.js';
import type { BuiltIndex, HashIndex } from '../../src/hash/hash-index.js';
import { evenSlots, MihIndex, slotBits, type MihBuildOptions } from '../../src/hash/index-mih.js';
import { ScanIndex } from '../../src/hash/index-scan.js';
import { hammingDistance } from '../../src/domain/pdq.js';
import { clusteredHashes, nearDuplicate, randomHashes, seededRandom } from '../support/synthetic-hashes.js';
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

/**
 * The multi-index renumbers entries (its hashes in bucket order); `built.order` maps them back,
 * so its hits can be compared with a scan of the input. Also checks the renumbered hashes.
 */
function inInputNumbers(built: BuiltIndex, input: Uint16Array): HashIndex {
  const { index, order } = built;
  if (!order) return index;
  return {
    kind: index.kind,
    size: index.size,
    hashes: input,
    indexBytes: index.indexBytes,
    search(query, radius, onHit) {
      index.search(query, radius, (e, d) => {
        const from = order[e]!;
        for (let w = 0; w < 16; w++)
          if (index.hashes[e * 16 + w] !== input[from * 16 + w]) throw new Error(`entry ${e} is not input ${from}`);
        onHit(from, d);
      });
    },
  };
}

function buildMih(hashes: Uint16Array): HashIndex {
  return inInputNumbers(MihIndex.build(hashes), hashes);
}

function expectSame(index: HashIndex, hashes: Uint16Array, query: Uint16Array, radius: number, all = distances(hashes, query)): number {
  const expected = within(all, radius);
  expectHits(searchAll(index, query, radius), expected);
  return expected.length;
}

/** Large enough that searches at PDQ's radius probe the index (below ~25k entries it scans). */
const N = 30_000;
const RADII = [0, 7, 8, 16, 23, 24, 31, 32, 39, 55, 56, 96];

describe('multi-index hashing equals brute force exactly', () => {
  const cases: Array<[string, (rand: () => number) => Uint16Array]> = [
    ['random', (rand) => randomHashes(N, rand)],
    ['clustered', (rand) => clusteredHashes(N, 20, 48, rand)],
    [
      'near-duplicates',
      (rand) => {
        const base = randomHashes(500, rand);
        const out = new Uint16Array(N * 16);
        for (let i = 0; i < N; i++) out.set(nearDuplicate(base, i % 500, (rand() * 40) >>> 0, rand), i * 16);
        return out;
      },
    ],
  ];

  for (const [name, make] of cases) {
    it(`${name} sets, radii 0..96, random and near queries`, () => {
      const rand = seededRandom(name.length * 7919);
      const hashes = make(rand);
      const built = MihIndex.build(hashes);
      expect(built.index.probesAt(31)).toBe(true);
      const mih = inInputNumbers(built, hashes);
      const scan = new ScanIndex(hashes);
      let hits = 0;
      for (let q = 0; q < 12; q++) {
        const query = q % 3 === 0 ? randomHashes(1, rand) : nearDuplicate(hashes, (rand() * N) >>> 0, (rand() * 40) >>> 0, rand);
        const all = distances(hashes, query);
        for (const radius of RADII) {
          hits += expectSame(mih, hashes, query, radius, all);
          if (q === 0) expectHits(searchAll(scan, query, radius), searchAll(mih, query, radius));
        }
      }
      // The property is only meaningful if queries actually hit something.
      expect(hits).toBeGreaterThan(40);
    });
  }

  it.each([
    ['16 key bits', { keyBits: 16 }],
    ['19 key bits', { keyBits: 19 }],
    ['8 slots of 32 bits', { slots: 8 }],
    ['8 slots, 16 key bits', { slots: 8, keyBits: 16 }],
    ['10 slots of 25-26 bits, 17 key bits', { slots: 10, keyBits: 17 }],
    ['13 slots of 19-20 bits, 19 key bits (no filter bits in some)', { slots: 13, keyBits: 19 }],
    ['8 slots, shards of 7,000 entries', { slots: 8, shardEntries: 7_000 }],
    ['shards of 7,000 entries', { shardEntries: 7_000 }],
    ['shards of 7,000 entries, 18 key bits', { shardEntries: 7_000, keyBits: 18 }],
  ] as Array<[string, MihBuildOptions]>)('%s: same hits as brute force', (_name, options) => {
    const rand = seededRandom(99);
    const hashes = randomHashes(N, rand);
    const built = MihIndex.build(hashes, N, options);
    const mih = inInputNumbers(built, hashes);
    let hits = 0;
    for (let q = 0; q < 20; q++) {
      const query = nearDuplicate(hashes, (rand() * N) >>> 0, (rand() * 40) >>> 0, rand);
      const all = distances(hashes, query);
      for (const radius of [0, 7, 8, 23, 31, 32, 39]) hits += expectSame(mih, hashes, query, radius, all);
    }
    expect(hits).toBeGreaterThan(20);
  });

  it('finds an entry at exactly distance r and not at r + 1, for every r around slot boundaries', () => {
    const rand = seededRandom(42);
    const hashes = randomHashes(N, rand);
    const mih = buildMih(hashes);
    for (const r of [0, 1, 2, 7, 8, 9, 15, 16, 17, 23, 24, 30, 31, 32, 33, 39, 40, 47, 48, 63, 64, 100]) {
      const target = (rand() * N) >>> 0;
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

  it('finds distance-31 neighbours whatever way the bits spread over slots, keys and filters', () => {
    // 8 slots of 32 bits, 16 key bits. Worst cases for the pigeonhole split: all r bits in one slot, or 4 in seven slots and 3 in
    // the eighth, those 3 in its bucket key (the filter must then match exactly), in its filter
    // byte (the key matches, the filter differs by the whole budget), or in bits neither covers.
    const rand = seededRandom(7);
    const hashes = randomHashes(N, rand);
    const mih = inInputNumbers(MihIndex.build(hashes, N, { slots: 8, keyBits: 16 }), hashes);
    const base = entry(hashes, 123);
    const flip = (masks: Array<[number, number]>): Uint16Array => {
      const q = Uint16Array.from(base);
      for (const [w, m] of masks) q[w] = q[w]! ^ m;
      return q;
    };
    const spreadOver7 = Array.from({ length: 7 }, (_, s) => [
      [2 * s, 0x0003],
      [2 * s + 1, 0x0003],
    ]).flat() as Array<[number, number]>;
    const queries = [
      flip([
        [0, 0xffff],
        [1, 0x7fff],
      ]),
      flip([...spreadOver7, [14, 0x0007]]), // last slot: 3 bits in the key (its first word)
      flip([...spreadOver7, [15, 0x0700]]), // 3 bits in the filter byte (top of its second word, 16-bit keys)
      flip([...spreadOver7, [15, 0x0007]]), // 3 bits below the filter
      flip([...spreadOver7, [14, 0x0001], [15, 0x8100]]), // 1 in the key, 1 in the key's 17th bit or filter, 1 in the filter
    ];
    for (const q of queries) {
      expect(hammingDistance(q, base)).toBe(31);
      expect(searchAll(mih, q, 31).map(([e]) => e)).toContain(123);
      expectSame(mih, hashes, q, 31);
    }
  });

  it('handles r = 0 duplicates, r >= 256, negative r, and an empty index', () => {
    const rand = seededRandom(3);
    const hashes = randomHashes(N, rand);
    hashes.set(entry(hashes, 10), 20 * 16); // entry 20 duplicates entry 10
    const mih = buildMih(hashes);
    expect(searchAll(mih, entry(hashes, 10), 0)).toEqual([
      [10, 0],
      [20, 0],
    ]);
    expect(searchAll(mih, entry(hashes, 10), 256)).toHaveLength(N);
    expect(searchAll(mih, entry(hashes, 10), 300)).toHaveLength(N);
    expect(searchAll(mih, entry(hashes, 10), -1)).toEqual([]);
    const empty = buildMih(new Uint16Array(0));
    expect(searchAll(empty, entry(hashes, 10), 31)).toEqual([]);
  });

  it('a hit-heavy query past the result buffer still returns every hit (scan fallback)', () => {
    const rand = seededRandom(5);
    const base = randomHashes(1, rand);
    const hashes = new Uint16Array(N * 16);
    // 6,000 near copies of one hash within 8 bits: a query at r = 15 (probing) hits all of them.
    for (let i = 0; i < N; i++) hashes.set(i < 6_000 ? nearDuplicate(base, 0, (rand() * 9) >>> 0, rand) : randomHashes(1, rand), i * 16);
    const built = MihIndex.build(hashes);
    expect(built.index.probesAt(15)).toBe(true);
    expect(expectSame(inInputNumbers(built, hashes), hashes, base, 15)).toBeGreaterThanOrEqual(6_000);
  });

  it('builds the same index in event-loop-friendly steps', async () => {
    const rand = seededRandom(11);
    const hashes = randomHashes(N, rand);
    const whole = buildMih(hashes);
    const stepped = inInputNumbers(await MihIndex.buildAsync(hashes, N, { entriesPerStep: 1_000 }), hashes);
    for (let q = 0; q < 20; q++) {
      const query = nearDuplicate(hashes, (rand() * N) >>> 0, 25, rand);
      expectHits(searchAll(stepped, query, 31), searchAll(whole, query, 31));
      expect(searchAll(stepped, query, 31).length).toBeGreaterThan(0);
    }
  });

  it('refuses bad build options', () => {
    const hashes = randomHashes(10, seededRandom(1));
    expect(() => MihIndex.build(hashes, 10, { keyBits: 20 })).toThrow(/keyBits must be an integer 16..19/);
    expect(() => MihIndex.build(hashes, 10, { shardEntries: 0 })).toThrow(/shardEntries/);
    expect(() => MihIndex.build(hashes, 10, { slots: 7 })).toThrow(/slots must be an integer 8..16/);
    // 14 slots are 18-19 bits wide: too narrow for 19-bit keys.
    expect(() => MihIndex.build(hashes, 10, { slots: 14, keyBits: 19 })).toThrow(/at least keyBits \(19\) wide/);
    expect(() => MihIndex.build(hashes, 11)).toThrow(/hold 10 entries, not 11/);
  });

  it('uses a scan below the configured size and a multi-index above it', () => {
    const hashes = randomHashes(100, seededRandom(1));
    const scan = buildHashIndex(hashes, 100);
    expect(scan.index.kind).toBe('scan');
    expect(scan.order).toBeNull();
    expect(scan.index.hashes).toBe(hashes);
    const { index, order } = buildHashIndex(hashes, 100, { minIndexedSize: 50 });
    expect(index.kind).toBe('mih');
    expect([...order!].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // 11 slots at this size: 11 offset tables of 2^16 + 1 u32, a filter byte per entry and slot, 3-byte positions in 10 slots, fixed buffers.
    expect(index.kind === 'mih' && (index as MihIndex).slotCount).toBe(11);
    expect(index.indexBytes).toBeGreaterThan(11 * 65537 * 4 + 100 * (11 + 10 * 3));
    expect(index.indexBytes).toBeLessThan(11 * 65537 * 4 + 100 * (11 + 10 * 3) + 2 ** 20);
    const wide = MihIndex.build(hashes, 100, { slots: 8 }).index;
    expect(wide.indexBytes).toBeLessThan(8 * 65537 * 4 + 100 * (8 + 7 * 3) + 2 ** 20);
  });
});

describe('slot layouts against brute force (property)', () => {
  /** Large enough that every layout below probes at r <= 31 (8 slots at 19 key bits need ~37k). */
  const SIZE = 40_000;
  const rand = seededRandom(2024);
  const hashes = randomHashes(SIZE, rand);
  const built = new Map<string, HashIndex>();
  const indexFor = (slots: number, keyBits: number): HashIndex => {
    const key = `${slots}:${keyBits}`;
    let index = built.get(key);
    if (!index) {
      const b = MihIndex.build(hashes, SIZE, { slots, keyBits });
      expect(b.index.probesAt(31)).toBe(true);
      index = inInputNumbers(b, hashes);
      built.set(key, index);
    }
    return index;
  };
  const layout = fc
    .record({ slots: fc.constantFrom(8, 9, 10, 11, 12, 13), keyBits: fc.integer({ min: 16, max: 19 }) })
    .filter(({ slots, keyBits }) => Math.floor(256 / slots) >= keyBits);

  it('any layout, radius and near-duplicate query: exactly the hits of a scan', () => {
    fc.assert(
      fc.property(
        layout,
        fc.integer({ min: 0, max: SIZE - 1 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { maxLength: 48 }),
        fc.integer({ min: 0, max: 48 }),
        ({ slots, keyBits }, target, flips, radius) => {
          const query = Uint16Array.from(entry(hashes, target));
          for (const b of flips) query[b >>> 4] = query[b >>> 4]! ^ (1 << (15 - (b & 15)));
          expectSame(indexFor(slots, keyBits), hashes, query, radius);
        },
      ),
      { numRuns: 150, seed: 7 },
    );
  });

  it('every slot count finds a neighbour at exactly 31 with its bits spread to the pigeonhole limit', () => {
    // r + 1 = 32 shared as the index shares it: t + 1 flips in every slot but one (t), placed in
    // the slot's key, its filter bits, or below them: the least margin the pigeonhole leaves.
    fc.assert(
      fc.property(
        layout,
        fc.integer({ min: 0, max: SIZE - 1 }),
        fc.nat(),
        fc.constantFrom('key', 'filter', 'tail', 'any'),
        (l, target, lean, where) => {
          const slots = evenSlots(l.slots);
          const base = entry(hashes, target);
          const query = Uint16Array.from(base);
          const budget = slots.map((_, s) => Math.floor(32 / slots.length) + (s < 32 % slots.length ? 1 : 0));
          budget[lean % slots.length]! -= 1;
          slots.forEach(({ offset, width }, s) => {
            const filterEnd = Math.min(width, l.keyBits + 8);
            const [from, to] =
              where === 'key'
                ? [0, l.keyBits]
                : where === 'filter' && filterEnd > l.keyBits
                  ? [l.keyBits, filterEnd]
                  : where === 'tail' && width > filterEnd
                    ? [filterEnd, width]
                    : [0, width];
            const chosen = new Set<number>();
            while (chosen.size < Math.min(budget[s]!, to - from)) chosen.add(from + ((rand() * (to - from)) >>> 0));
            while (chosen.size < budget[s]!) chosen.add((rand() * width) >>> 0);
            for (const b of chosen) query[(offset + b) >>> 4] = query[(offset + b) >>> 4]! ^ (1 << (15 - ((offset + b) & 15)));
          });
          expect(hammingDistance(query, base)).toBe(31);
          const hits = searchAll(indexFor(l.slots, l.keyBits), query, 31);
          expect(hits.map(([e]) => e)).toContain(target);
          expectSame(indexFor(l.slots, l.keyBits), hashes, query, 31);
        },
      ),
      { numRuns: 120, seed: 11 },
    );
  });

  it('reads any slot of up to 32 bits at any offset as the bits of the hex string', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 32 }), (offset, width) => {
        fc.pre(offset + width <= 256);
        const h = entry(hashes, offset);
        const bitString = Array.from(h, (w) => w.toString(2).padStart(16, '0')).join('');
        expect(slotBits(h, 0, offset, width)).toBe(parseInt(bitString.slice(offset, offset + width), 2));
      }),
      { seed: 3 },
    );
  });
});
