import type { PdqHash } from '../domain/pdq.js';
import type { HashIndex, HitCallback } from './hash-index.js';
import {
  CANDIDATE_CAPACITY,
  createIndexMemory,
  MAX_SLOTS,
  SLOT_ENTRY_BYTES,
  SLOT_MASK_BYTES,
  type SearchKernel,
} from './index-mih-kernel.js';
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
 * conditions, CPU time per query, r = 31, same process, 8 slots): 1M entries 16 bits 0.19 ms,
 * 17 bits 0.16 ms, 18 bits 0.19 ms; 10M entries 18 bits 0.67 ms, 19 bits 0.61 ms. With 11 slots
 * (each query's fastest of 5 runs, the layouts interleaved, loaded machine): 1M 16 bits 0.051 ms,
 * 17 bits 0.051 ms, 18 bits 0.057 ms; 300k 16 bits 0.029 ms, 17 bits 0.034 ms: the same choice.
 */
export function keyBitsFor(entries: number): number {
  return Math.min(MAX_KEY_BITS, Math.max(MIN_KEY_BITS, Math.ceil(Math.log2(Math.max(1, entries))) - 3));
}

/** A slot: `width` bits (at most 32) of the hash from bit `offset` (bit 0 = the first hex digit's top bit). */
export interface Slot {
  readonly offset: number;
  readonly width: number;
}

/** `count` slots over the 256 bits, the wider first (they get the larger radius when the radius does not divide evenly). */
export function evenSlots(count: number): Slot[] {
  const slots: Slot[] = [];
  for (let s = 0, offset = 0; s < count; s++) {
    const width = Math.floor(256 / count) + (s < 256 % count ? 1 : 0);
    slots.push({ offset, width });
    offset += width;
  }
  return slots;
}

/** Shard sizes from which 8 slots are used instead of 11 (4M entries, where keyBitsFor reaches 19). */
const WIDE_SLOTS_FROM = 1 << 22;

/**
 * Slots per shard size. 11 slots of 23-24 bits below 4M entries: at r = 31 the slot radius is
 * 2 (1 in one slot), so a query probes 10 x 154 + 18 buckets at 17 key bits instead of 8 x 834,
 * with 6-7 filter bits left below the key. Measured (per query, median over 1,000 queries of the
 * fastest of 5 runs, r = 31, one process, on the shared 2-core machine): 200k entries 8 slots
 * 0.050 ms, 10 slots 0.025, 11 slots 0.017; 1M 0.100, 0.044, 0.044-0.047; 3M (19 key bits) 0.223,
 * 0.111, 0.119. It costs 3 filter bytes and 3 positions more per entry (79 bytes per entry at 1M
 * instead of 66); from 4M on, 8 slots of 32 bits keep the index within 64 bytes per entry.
 */
export function slotCountFor(entries: number): number {
  return entries >= WIDE_SLOTS_FROM ? 8 : 11;
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
  readonly slots: readonly Slot[];
  readonly query: number;
  readonly countAt: number;
  /** SLOT_ENTRY_BYTES per slot, written per search. */
  readonly slotTable: number;
  /** SLOT_MASK_BYTES per slot, written at build. */
  readonly slotMasks: number;
  readonly masks: number;
  readonly results: number;
  readonly ranges: number;
  readonly candidates: number;
  readonly hashes: number;
  readonly shards: readonly Shard[];
  readonly end: number;
}

const align = (n: number, to: number): number => Math.ceil(n / to) * to;

function layoutFor(size: number, shardEntries: number, keyBits: number, slots: readonly Slot[]): Layout {
  const SLOTS = slots.length;
  const query = 0;
  const countAt = 32;
  const slotTable = 64;
  const slotMasks = slotTable + MAX_SLOTS * SLOT_ENTRY_BYTES;
  const masks = slotMasks + MAX_SLOTS * SLOT_MASK_BYTES;
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
  return { keyBits, slots, query, countAt, slotTable, slotMasks, masks, results, ranges, candidates, hashes, shards, end: at + PAD };
}

export interface MihBuildOptions {
  /** Entries per shard, at most 2^24 (the default); smaller only to exercise sharding in tests. */
  readonly shardEntries?: number;
  /** Bucket key bits per slot, 16..19; default keyBitsFor(entries per shard). */
  readonly keyBits?: number;
  /** Slots, 8..16 (each at most 32 bits wide); default slotCountFor(entries per shard). */
  readonly slots?: number;
  /** Entries between yields to the event loop (buildAsync). Default 2^18. */
  readonly entriesPerStep?: number;
}

/**
 * Exact Hamming range search (what a linear scan returns, no approximation) in 30-47 bytes per
 * entry beside the 32-byte hashes, fast enough to query every sampled frame.
 *
 * Multi-index hashing (Norouzi et al.), the hash cut into n slots (8 of 32 bits, or 11 of 23-24
 * below 4M entries: slotCountFor). Pigeonhole: give slot s a radius t_s with sum(t_s + 1) = r + 1;
 * if two hashes are within r then some slot differs by at most its t_s bits, so probing, per
 * slot, every value within t_s finds every true neighbour, and each candidate is then checked on
 * all 256 bits (at r = 31: t = 3 with 8 slots; t = 2 in ten slots and 1 in one with 11). A slot is
 * too wide for a table, so each has a bucket table over its first b bits (keyBitsFor) and
 * stores, per entry in bucket order, the next up to 8 bits (the filter) and the entry's position:
 * a bucket at key distance k can only hold a neighbour whose other bits are within t - k, and
 * the filter gives a lower bound that rejects almost every entry without touching its hash (at
 * k = t, most probes, it must be equal).
 *
 * Why not 16 slots of 16 bits (HMA's layout for PDQ, and this project's before): probing is
 * cheap there, but each entry needs 16 stored positions (64 bytes at 4 each, more than the
 * 64-byte budget with the hash) and a query checks ~4,000 candidates at 1M, ~40,000 at 10M, each
 * a random read of a hash, with no bits left for a filter. With 8 slots: 32 B hash + 8 filter
 * bytes + 7 positions of 3 bytes + offset tables = about 62 bytes per entry at 10M, and ~1
 * candidate per 100 filtered entries; 11 slots probe 4x fewer buckets for ~79 bytes per entry.
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
  /** Views on the index memory the query is written through (the memory never grows: no view goes stale). */
  private readonly queryWords: Uint16Array;
  private readonly table: Int32Array;
  /** Per radius: each slot's radius (sum of (t + 1) = r + 1) and the buckets probed in all. */
  private readonly plans = new Map<number, { radii: Int32Array; buckets: number }>();

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
    this.queryWords = new Uint16Array(u32.buffer, layout.query, 16);
    this.table = new Int32Array(u32.buffer, layout.slotTable, (layout.slots.length * SLOT_ENTRY_BYTES) >>> 2);
  }

  get keyBits(): number {
    return this.layout.keyBits;
  }

  /** How many slots the hash is cut into. */
  get slotCount(): number {
    return this.layout.slots.length;
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
    const plan = this.planFor(radius);
    return plan !== undefined && this.probingPays(plan.buckets);
  }

  search(query: PdqHash, radius: number, onHit: HitCallback): void {
    if (radius < 0 || this.size === 0) return;
    const plan = this.planFor(radius);
    if (!plan || !this.probingPays(plan.buckets)) {
      scanRange(this.hashes, this.size, query, radius, onHit);
      return;
    }
    const { layout, u32, table } = this;
    const { upto } = this.probes;
    const { keyBits, slots } = layout;
    this.queryWords.set(query);
    for (let s = 0, at = 0; s < slots.length; s++, at += SLOT_ENTRY_BYTES >>> 2) {
      const { offset, width } = slots[s]!;
      const value = slotBits(query, 0, offset, width);
      const filterBits = Math.min(8, width - keyBits);
      const t = plan.radii[s]!;
      table[at] = value >>> (width - keyBits);
      table[at + 1] = (value >>> (width - keyBits - filterBits)) & ((1 << filterBits) - 1);
      table[at + 2] = t;
      table[at + 3] = t > 0 ? upto[t - 1]! : 0;
      table[at + 4] = t >= 0 ? upto[t]! : 0;
    }
    for (const shard of layout.shards) {
      this.kernel(
        radius,
        slots.length,
        layout.slotTable,
        layout.slotMasks,
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
      if (count === 0) continue;
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

  /**
   * Slot radii for `radius`: r + 1 shared out as evenly as the slots allow (the first, widest
   * slots get the extra), -1 for a slot left unprobed; undefined when a slot would need more
   * than MAX_SLOT_RADIUS (a scan is cheaper).
   */
  private planFor(radius: number): { radii: Int32Array; buckets: number } | undefined {
    if (radius < 0) return undefined;
    let plan = this.plans.get(radius);
    if (!plan) {
      const n = this.layout.slots.length;
      const base = Math.floor((radius + 1) / n);
      const extra = (radius + 1) % n;
      const radii = Int32Array.from({ length: n }, (_, s) => base + (s < extra ? 1 : 0) - 1);
      if (radii[0]! > MAX_SLOT_RADIUS) return undefined;
      let buckets = 0;
      for (const t of radii) if (t >= 0) buckets += this.probes.upto[t]!;
      plan = { radii, buckets };
      if (this.plans.size < 64) this.plans.set(radius, plan);
    }
    return plan;
  }

  /** Probing visits `buckets` buckets; when that nears the list's size a scan is cheaper. */
  private probingPays(buckets: number): boolean {
    // A bucket visit costs about as much as scanning a few entries; filtered entries go 16 per step.
    return buckets * 4 + (buckets * this.size) / 2 ** this.layout.keyBits / 16 < this.size;
  }
}

/** Bits [offset, offset + width) of the hash at words[at..at+16), width <= 32, as an unsigned number. */
export function slotBits(words: ArrayLike<number>, at: number, offset: number, width: number): number {
  const w = offset >>> 4;
  const shift = offset & 15;
  const hi = ((words[at + w]! << 16) | (w + 1 < 16 ? words[at + w + 1]! : 0)) >>> 0;
  const bits = shift === 0 ? hi : ((hi << shift) | ((w + 2 < 16 ? words[at + w + 2]! : 0) >>> (16 - shift))) >>> 0;
  return width === 32 ? bits : bits >>> (32 - width);
}

/**
 * The slot's bits as the kernel sees the hash: four little-endian i64 of four 16-bit words each
 * (word 4k + j at bits 16j.. of i64 k, a word's first bit at its bit 15), as eight u32.
 */
function slotMaskWords(slot: Slot): Uint32Array {
  const out = new Uint32Array(8);
  for (let i = slot.offset; i < slot.offset + slot.width; i++) {
    const word = i >>> 4;
    const bit = 16 * (word & 3) + 15 - (i & 15);
    out[2 * (word >>> 2) + (bit >>> 5)]! |= 1 << (bit & 31);
  }
  return out;
}

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
  const slotCount = options.slots ?? slotCountFor(Math.min(size, shardEntries));
  if (!Number.isInteger(slotCount) || slotCount < 8 || slotCount > MAX_SLOTS || Math.floor(256 / slotCount) < keyBits) {
    throw new RangeError(`slots must be an integer 8..${MAX_SLOTS} whose slots are at least keyBits (${keyBits}) wide, got ${slotCount}`);
  }
  const slots = evenSlots(slotCount);
  const step = Math.max(1, Math.floor(options.entriesPerStep ?? 1 << 18));
  const layout = layoutFor(size, shardEntries, keyBits, slots);
  if (layout.end > MAX_MEMORY_BYTES) {
    throw new RangeError(`a list of ${size} entries needs ${layout.end} bytes of index memory, over the 4 GiB of one index: split it`);
  }
  const { buffer, search } = createIndexMemory(layout.end);
  const u8 = new Uint8Array(buffer);
  const u16 = new Uint16Array(buffer);
  const u32 = new Uint32Array(buffer);
  u32.set(probeMasks(keyBits).masks, layout.masks >>> 2);
  slots.forEach((slot, s) => u32.set(slotMaskWords(slot), (layout.slotMasks + s * SLOT_MASK_BYTES) >>> 2));
  const order = new Uint32Array(size);
  const buckets = 1 << keyBits;
  const cursor = new Uint32Array(buckets + 1);
  const h = layout.hashes >>> 1;

  for (const shard of layout.shards) {
    const { start, size: n } = shard;
    const offsets = (slot: number) => {
      const from = (shard.offsets + slot * shard.offsetsBytes) >>> 2;
      return u32.subarray(from, from + buckets + 1);
    };

    // Slot 0: bucket each entry, moving its hash to its position.
    {
      const { offset, width } = slots[0]!;
      const keyShift = width - keyBits;
      const filterShift = Math.max(0, keyShift - 8);
      const filterMask = (1 << Math.min(8, keyShift)) - 1;
      const off0 = offsets(0);
      for (let e = start; e < start + n; e++) off0[(slotBits(hashes, e * 16, offset, width) >>> keyShift) + 1]!++;
      for (let v = 0; v < buckets; v++) off0[v + 1]! += off0[v]!;
      cursor.set(off0);
      for (let from = start; from < start + n; from += step) {
        const end = Math.min(start + n, from + step);
        for (let e = from; e < end; e++) {
          const value = slotBits(hashes, e * 16, offset, width);
          const pos = cursor[value >>> keyShift]!++;
          const to = h + (start + pos) * 16;
          for (let w = 0; w < 16; w++) u16[to + w] = hashes[e * 16 + w]!;
          u8[shard.filters + pos] = (value >>> filterShift) & filterMask;
          order[start + pos] = e;
        }
        yield;
      }
    }

    // Slots 1..n-1: the renumbered entries, bucketed: filter bits and 3-byte position.
    for (let s = 1; s < slots.length; s++) {
      const { offset, width } = slots[s]!;
      const keyShift = width - keyBits;
      const filterShift = Math.max(0, keyShift - 8);
      const filterMask = (1 << Math.min(8, keyShift)) - 1;
      const off = offsets(s);
      const base = h + start * 16;
      for (let i = 0, at = base; i < n; i++, at += 16) off[(slotBits(u16, at, offset, width) >>> keyShift) + 1]!++;
      for (let v = 0; v < buckets; v++) off[v + 1]! += off[v]!;
      cursor.set(off);
      const filters = shard.filters + s * shard.filterBytes;
      const positions = shard.positions + (s - 1) * shard.positionBytes;
      for (let from = 0; from < n; from += step) {
        const end = Math.min(n, from + step);
        for (let i = from, at = base + from * 16; i < end; i++, at += 16) {
          const value = slotBits(u16, at, offset, width);
          const pos = cursor[value >>> keyShift]!++;
          u8[filters + pos] = (value >>> filterShift) & filterMask;
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
