import type { PdqHash } from '../domain/pdq.js';
import type { HashIndex, HitCallback } from './hash-index.js';
import { CANDIDATE_CAPACITY, createIndexMemory, SLOTS, type SearchKernel } from './index-mih-kernel.js';
import { scanRange } from './index-scan.js';

/** Positions are stored in 3 bytes: larger lists are cut into shards of at most this many entries. */
const MAX_SHARD_ENTRIES = 1 << 24;
/** wasm32 memory ends at 4 GiB; at ~62 bytes per entry that is about 65M entries in one process. */
const MAX_MEMORY_BYTES = 2 ** 32 - 2 ** 16;
/** Hits one kernel call can return; more (only at radii far beyond PDQ's) fall back to a scan. */
const RESULT_CAPACITY = 1 << 12;
/** Loads past the end of an array (a bucket's last SIMD step) stay inside the memory. */
const PAD = 16;
/**
 * Largest slot radius probed (r <= 55): up to 43,796 probes per slot at 19 key bits; past that
 * a scan is cheaper at any size one memory holds.
 */
const MAX_SLOT_RADIUS = 6;
const MIN_KEY_BITS = 16;
const MAX_KEY_BITS = 19;

/**
 * Bucket keys of `bits` bits ordered by popcount, up to MAX_SLOT_RADIUS, and how many have
 * popcount <= t: the buckets within distance t of key v are v ^ masks[k] for k < upto[t].
 */
interface ProbeMasks {
  readonly masks: Uint32Array;
  readonly upto: readonly number[];
}

const probeMasksByBits = new Map<number, ProbeMasks>();

function probeMasks(bits: number): ProbeMasks {
  let p = probeMasksByBits.get(bits);
  if (!p) {
    const byCount: number[][] = Array.from({ length: MAX_SLOT_RADIUS + 1 }, () => []);
    for (let m = 0; m < 1 << bits; m++) {
      let c = 0;
      for (let x = m; x && c <= MAX_SLOT_RADIUS; x &= x - 1) c++;
      if (c <= MAX_SLOT_RADIUS) byCount[c]!.push(m);
    }
    const upto: number[] = [];
    let n = 0;
    for (const list of byCount) upto.push((n += list.length));
    p = { masks: Uint32Array.from(byCount.flat()), upto };
    probeMasksByBits.set(bits, p);
  }
  return p;
}

/**
 * Bits of the bucket key per slot: 16 up to 2^19 entries per shard, one more per doubling, 19
 * from 2^22 (4M) on. Wider keys mean more, smaller buckets: more probes, but fewer entries
 * filtered and fewer candidates (the filter byte covers deeper bits), for 8 offset tables of
 * 2^bits + 1 u32 (16 MiB at 19 bits: 1.6 bytes per entry at 10M). Measured (bench:hash
 * conditions, CPU time per query, r = 31, same process): 1M entries 16 bits 0.19 ms, 17 bits
 * 0.16 ms, 18 bits 0.19 ms; 10M entries 18 bits 0.67 ms, 19 bits 0.61 ms.
 */
export function keyBitsFor(entries: number): number {
  return Math.min(MAX_KEY_BITS, Math.max(MIN_KEY_BITS, Math.ceil(Math.log2(Math.max(1, entries))) - 3));
}

interface Shard {
  /** First entry of the shard; the kernel reports entries relative to it. */
  readonly start: number;
  readonly size: number;
  /** SLOTS tables of 2^keyBits + 1 u32, `offsetsBytes` apart. */
  readonly offsets: number;
  readonly offsetsBytes: number;
  /** SLOTS arrays of `filterBytes`: one byte per entry in the slot's bucket order. */
  readonly filters: number;
  readonly filterBytes: number;
  /** SLOTS - 1 arrays (slots 1..7) of `positionBytes`: the entry, 3 bytes little-endian, in bucket order. */
  readonly positions: number;
  readonly positionBytes: number;
}

interface Layout {
  readonly keyBits: number;
  readonly query: number;
  readonly countAt: number;
  readonly masks: number;
  readonly results: number;
  readonly ranges: number;
  readonly candidates: number;
  readonly hashes: number;
  readonly shards: readonly Shard[];
  readonly end: number;
}

const align = (n: number, to: number): number => Math.ceil(n / to) * to;

function layoutFor(size: number, shardEntries: number, keyBits: number): Layout {
  const query = 0;
  const countAt = 32;
  const masks = 64;
  const probes = probeMasks(keyBits).masks.length;
  const results = align(masks + probes * 4, 64);
  const ranges = results + RESULT_CAPACITY * 8;
  const candidates = ranges + probes * 12;
  let at = align(candidates + CANDIDATE_CAPACITY * 4 + PAD, 64);
  const hashes = at;
  at += size * 32;
  const offsetsBytes = ((1 << keyBits) + 1) * 4;
  const shards: Shard[] = [];
  for (let start = 0; start < size || (size === 0 && shards.length === 0); start += shardEntries) {
    const n = Math.min(shardEntries, size - start);
    const offsets = align(at, 64);
    const filters = offsets + SLOTS * offsetsBytes;
    const filterBytes = align(n + PAD, 16);
    const positions = filters + SLOTS * filterBytes;
    const positionBytes = align(n * 3 + PAD, 16);
    at = positions + (SLOTS - 1) * positionBytes;
    shards.push({ start, size: n, offsets, offsetsBytes, filters, filterBytes, positions, positionBytes });
  }
  return { keyBits, query, countAt, masks, results, ranges, candidates, hashes, shards, end: at + PAD };
}

export interface MihBuildOptions {
  /** Entries per shard, at most 2^24 (the default); smaller only to exercise sharding in tests. */
  readonly shardEntries?: number;
  /** Bucket key bits per slot, 16..19; default keyBitsFor(entries per shard). */
  readonly keyBits?: number;
  /** Entries between yields to the event loop (buildAsync). Default 2^18. */
  readonly entriesPerStep?: number;
}

/**
 * Exact Hamming range search (what a linear scan returns, no approximation) in about 30 bytes
 * per entry beside the 32-byte hashes, fast enough to query every sampled frame.
 *
 * Multi-index hashing (Norouzi et al.), cut into 8 slots of 32 bits: if two hashes are within r
 * then some slot differs by at most t = floor(r / 8) bits (pigeonhole), so probing, per slot,
 * every value within t finds every true neighbour, and each candidate is then checked on all
 * 256 bits. A 32-bit slot is too wide for a table, so each slot has a bucket table over its first
 * b bits (keyBitsFor) and stores, per entry in bucket order, the next 8 bits (the filter) and the
 * entry's position: a bucket at key distance k can only hold a neighbour whose other bits are
 * within t - k, and the filter's 8 give a lower bound that rejects almost every entry without
 * touching its hash (at k = t, 560 of 697 probes at b = 16, it must be equal).
 *
 * Why not 16 slots of 16 bits (HMA's layout for PDQ, and this project's before): probing is
 * cheap there, but each entry needs 16 stored positions (64 bytes at 4 each, more than the
 * 64-byte budget with the hash) and a query checks ~4,000 candidates at 1M, ~40,000 at 10M, each
 * a random read of a hash. Here: 32 B hash + 8 filter bytes + 7 positions of 3 bytes + offset
 * tables = about 62 bytes per entry at 10M, and ~1 candidate per 100 filtered entries.
 *
 * Memory per entry: the hash is stored in slot 0's bucket order, so slot 0 needs no position
 * table. The entries are therefore renumbered: `hashes` and the build's `order` give the new
 * numbering, and callers holding other per-entry data (labels) reorder it once with `order`.
 * Everything lives in one WebAssembly memory searched by index-mih-kernel.ts.
 */
export class MihIndex implements HashIndex {
  readonly kind = 'mih' as const;
  readonly indexBytes: number;
  private readonly probes: ProbeMasks;

  private constructor(
    readonly size: number,
    /** The entries' hashes in index order: entry i at [16i, 16i + 16), a view on the index memory. */
    readonly hashes: Uint16Array,
    private readonly u32: Uint32Array,
    private readonly layout: Layout,
    private readonly kernel: SearchKernel,
  ) {
    this.indexBytes = layout.end - size * 32;
    this.probes = probeMasks(layout.keyBits);
  }

  get keyBits(): number {
    return this.layout.keyBits;
  }

  /** Builds over `hashes`' first `size` entries; `order[i]` is the input entry that became entry i. */
  static build(
    hashes: Uint16Array,
    size: number = hashes.length >>> 4,
    options: MihBuildOptions = {},
  ): { index: MihIndex; order: Uint32Array } {
    const steps = buildSteps(hashes, size, { ...options, entriesPerStep: Number.MAX_SAFE_INTEGER });
    for (;;) {
      const next = steps.next();
      if (next.done) return next.value;
    }
  }

  /**
   * The same, in steps of about `entriesPerStep` entries with the event loop let through
   * between them: ten million entries take seconds, and frames keep being screened meanwhile.
   */
  static async buildAsync(
    hashes: Uint16Array,
    size: number = hashes.length >>> 4,
    options: MihBuildOptions = {},
  ): Promise<{ index: MihIndex; order: Uint32Array }> {
    const steps = buildSteps(hashes, size, options);
    for (;;) {
      const next = steps.next();
      if (next.done) return next.value;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** For the builder. */
  static fromMemory(size: number, buffer: ArrayBuffer, layout: Layout, kernel: SearchKernel): MihIndex {
    return new MihIndex(size, new Uint16Array(buffer, layout.hashes, size * 16), new Uint32Array(buffer), layout, kernel);
  }

  /** Whether a search at `radius` probes the index (true at PDQ's 31 from ~25k entries) rather than scanning. */
  probesAt(radius: number): boolean {
    const t = Math.floor(radius / SLOTS);
    return radius >= 0 && t <= MAX_SLOT_RADIUS && this.probingPays(t);
  }

  search(query: PdqHash, radius: number, onHit: HitCallback): void {
    if (radius < 0 || this.size === 0) return;
    const t = Math.floor(radius / SLOTS);
    if (!this.probesAt(radius)) {
      scanRange(this.hashes, this.size, query, radius, onHit);
      return;
    }
    const { layout, u32 } = this;
    new Uint16Array(u32.buffer, layout.query, 16).set(query);
    for (const shard of layout.shards) {
      this.kernel(
        radius,
        t,
        layout.keyBits,
        t > 0 ? this.probes.upto[t - 1]! : 0,
        this.probes.upto[t]!,
        layout.masks,
        layout.query,
        layout.hashes + shard.start * 32,
        shard.offsets,
        shard.offsetsBytes,
        shard.filters,
        shard.filterBytes,
        shard.positions,
        shard.positionBytes,
        layout.ranges,
        layout.candidates,
        layout.results,
        RESULT_CAPACITY,
        layout.countAt,
      );
      const count = u32[layout.countAt >>> 2]!;
      if (count > RESULT_CAPACITY) {
        const shardHashes = this.hashes.subarray(shard.start * 16, (shard.start + shard.size) * 16);
        scanRange(shardHashes, shard.size, query, radius, (e, d) => onHit(shard.start + e, d));
        continue;
      }
      // Copied out first: a callback may search this index again, which reuses the result area.
      const hits = u32.slice(layout.results >>> 2, (layout.results >>> 2) + count * 2);
      for (let i = 0; i < count; i++) onHit(shard.start + hits[2 * i]!, hits[2 * i + 1]!);
    }
  }

  /** Probing visits 8 x upto[t] buckets; when that nears the list's size a scan is cheaper. */
  private probingPays(t: number): boolean {
    const buckets = SLOTS * this.probes.upto[t]!;
    // A bucket visit costs about as much as scanning a few entries; filtered entries go 16 per step.
    return buckets * 4 + (buckets * this.size) / 2 ** this.layout.keyBits / 16 < this.size;
  }
}

/** The slot's 32 bits (word 2s high) of the entry whose words start at `at`. */
const slotValue = (words: Uint16Array, at: number): number => ((words[at]! << 16) | words[at + 1]!) >>> 0;

/**
 * Counting sorts, one per slot, over the bucket key. Slot 0's sort also moves the hashes into
 * the index memory in that order (the renumbering); the other slots sort the renumbered
 * entries. Scratch beyond the index memory: `order` (4 bytes per entry, returned) and one
 * cursor table.
 */
function* buildSteps(
  hashes: Uint16Array,
  size: number,
  options: MihBuildOptions,
): Generator<void, { index: MihIndex; order: Uint32Array }> {
  if (!Number.isInteger(size) || size < 0 || hashes.length < size * 16) {
    throw new RangeError(`hashes hold ${hashes.length >>> 4} entries, not ${size}`);
  }
  const shardEntries = options.shardEntries ?? MAX_SHARD_ENTRIES;
  if (!Number.isInteger(shardEntries) || shardEntries < 1 || shardEntries > MAX_SHARD_ENTRIES) {
    throw new RangeError(`shardEntries must be an integer 1..${MAX_SHARD_ENTRIES}, got ${shardEntries}`);
  }
  const keyBits = options.keyBits ?? keyBitsFor(Math.min(size, shardEntries));
  if (!Number.isInteger(keyBits) || keyBits < MIN_KEY_BITS || keyBits > MAX_KEY_BITS) {
    throw new RangeError(`keyBits must be an integer ${MIN_KEY_BITS}..${MAX_KEY_BITS}, got ${keyBits}`);
  }
  const step = Math.max(1, Math.floor(options.entriesPerStep ?? 1 << 18));
  const layout = layoutFor(size, shardEntries, keyBits);
  if (layout.end > MAX_MEMORY_BYTES) {
    throw new RangeError(`a list of ${size} entries needs ${layout.end} bytes of index memory, over the 4 GiB of one index: split it`);
  }
  const { buffer, search } = createIndexMemory(layout.end);
  const u8 = new Uint8Array(buffer);
  const u16 = new Uint16Array(buffer);
  const u32 = new Uint32Array(buffer);
  u32.set(probeMasks(keyBits).masks, layout.masks >>> 2);
  const order = new Uint32Array(size);
  const buckets = 1 << keyBits;
  const keyShift = 32 - keyBits;
  const filterShift = 24 - keyBits;
  const cursor = new Uint32Array(buckets + 1);
  const h = layout.hashes >>> 1;

  for (const shard of layout.shards) {
    const { start, size: n } = shard;
    const offsets = (slot: number) => {
      const from = (shard.offsets + slot * shard.offsetsBytes) >>> 2;
      return u32.subarray(from, from + buckets + 1);
    };

    // Slot 0: bucket each entry, moving its hash to its position.
    const off0 = offsets(0);
    for (let e = start; e < start + n; e++) off0[(slotValue(hashes, e * 16) >>> keyShift) + 1]!++;
    for (let v = 0; v < buckets; v++) off0[v + 1]! += off0[v]!;
    cursor.set(off0);
    for (let from = start; from < start + n; from += step) {
      const end = Math.min(start + n, from + step);
      for (let e = from; e < end; e++) {
        const value = slotValue(hashes, e * 16);
        const pos = cursor[value >>> keyShift]!++;
        const to = h + (start + pos) * 16;
        for (let w = 0; w < 16; w++) u16[to + w] = hashes[e * 16 + w]!;
        u8[shard.filters + pos] = value >>> filterShift;
        order[start + pos] = e;
      }
      yield;
    }

    // Slots 1..7: the renumbered entries, bucketed: filter byte and 3-byte position.
    for (let s = 1; s < SLOTS; s++) {
      const off = offsets(s);
      const base = h + start * 16 + 2 * s;
      for (let i = 0, at = base; i < n; i++, at += 16) off[(slotValue(u16, at) >>> keyShift) + 1]!++;
      for (let v = 0; v < buckets; v++) off[v + 1]! += off[v]!;
      cursor.set(off);
      const filters = shard.filters + s * shard.filterBytes;
      const positions = shard.positions + (s - 1) * shard.positionBytes;
      for (let from = 0; from < n; from += step) {
        const end = Math.min(n, from + step);
        for (let i = from, at = base + from * 16; i < end; i++, at += 16) {
          const value = slotValue(u16, at);
          const pos = cursor[value >>> keyShift]!++;
          u8[filters + pos] = value >>> filterShift;
          const p = positions + pos * 3;
          u8[p] = i;
          u8[p + 1] = i >>> 8;
          u8[p + 2] = i >>> 16;
        }
        yield;
      }
    }
  }
  return { index: MihIndex.fromMemory(size, buffer, layout, search), order };
}
