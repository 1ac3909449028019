import { popcount16, type PdqHash } from '../../domain/pdq.js';
import type { HashIndex, HitCallback } from './hash-index.js';
import { scanRange } from './index-scan.js';

const SLOTS = 16;
const BUCKETS = 1 << 16;

/**
 * Every 16-bit mask ordered by popcount, and how many masks have popcount <= t: probing the
 * buckets within slot radius t of a query word is `word ^ MASKS[k]` for k < MASKS_UPTO[t].
 */
const { MASKS, MASKS_UPTO } = (() => {
  const masks = new Uint16Array(BUCKETS);
  const upto = new Uint32Array(17);
  let n = 0;
  for (let bits = 0; bits <= 16; bits++) {
    for (let m = 0; m < BUCKETS; m++) if (popcount16(m) === bits) masks[n++] = m;
    upto[bits] = n;
  }
  return { MASKS: masks, MASKS_UPTO: upto };
})();

/**
 * Multi-index hashing (Norouzi et al.; the layout Meta's HMA uses for PDQ): the 256 bits are
 * cut into 16 slots of 16 bits and each slot gets a bucket table over its 65536 values. By the
 * pigeonhole principle, if two hashes are within distance r then at least one slot differs by
 * at most floor(r / 16) bits, so probing, per slot, the buckets within that slot radius finds
 * every true neighbour; each candidate is then checked on all 256 bits, so results equal a
 * linear scan exactly. For PDQ's threshold of 31 that is 17 buckets per slot instead of
 * comparing with every entry.
 *
 * Memory: per slot a CSR layout (offsets[65537] + entry ids sorted by slot value), i.e.
 * 64 bytes per entry plus 4 MiB, and no object per entry. The packed hashes are shared with the
 * list, not copied.
 */
export class MihIndex implements HashIndex {
  readonly kind = 'mih' as const;

  /** For the builder; use build() or buildAsync(). */
  static fromParts(hashes: Uint16Array, size: number, offsets: readonly Uint32Array[], ids: readonly Uint32Array[]): MihIndex {
    return new MihIndex(hashes, size, offsets, ids);
  }

  private constructor(
    readonly hashes: Uint16Array,
    readonly size: number,
    /** offsets[s][v] .. offsets[s][v+1]: range of ids[s] holding entries whose word s is v. */
    private readonly offsets: readonly Uint32Array[],
    private readonly ids: readonly Uint32Array[],
  ) {}

  get indexBytes(): number {
    let n = 0;
    for (let s = 0; s < SLOTS; s++) n += this.offsets[s]!.byteLength + this.ids[s]!.byteLength;
    return n;
  }

  static build(hashes: Uint16Array, size: number = hashes.length >>> 4): MihIndex {
    const steps = buildSlots(hashes, size, Number.MAX_SAFE_INTEGER);
    for (;;) {
      const next = steps.next();
      if (next.done) return next.value;
    }
  }

  /**
   * Same index, built in steps of `entriesPerStep` with the event loop let through between
   * them: ten million entries take seconds, and frames keep being screened against the old
   * index meanwhile.
   */
  static async buildAsync(hashes: Uint16Array, size: number = hashes.length >>> 4, entriesPerStep = 1 << 18): Promise<MihIndex> {
    const steps = buildSlots(hashes, size, entriesPerStep);
    for (;;) {
      const next = steps.next();
      if (next.done) return next.value;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  search(query: PdqHash, radius: number, onHit: HitCallback): void {
    if (radius < 0 || this.size === 0) return;
    const t = Math.floor(radius / SLOTS);
    if (t >= 16 || !this.probingPays(t)) {
      scanRange(this.hashes, this.size, query, radius, onHit);
      return;
    }
    const nMasks = MASKS_UPTO[t]!;
    const h = this.hashes;
    const q0 = query[0]!,
      q1 = query[1]!,
      q2 = query[2]!,
      q3 = query[3]!;
    const q4 = query[4]!,
      q5 = query[5]!,
      q6 = query[6]!,
      q7 = query[7]!;
    for (let s = 0; s < SLOTS; s++) {
      const off = this.offsets[s]!;
      const ids = this.ids[s]!;
      const qs = query[s]!;
      for (let k = 0; k < nMasks; k++) {
        const mask = MASKS[k]!;
        const v = qs ^ mask;
        const end = off[v + 1]!;
        for (let j = off[v]!; j < end; j++) {
          const base = ids[j]! * 16;
          // Lower bound from the first 128 bits, without branches: almost every candidate of a
          // random list fails it, the branch predicts well, and the CPU overlaps the cache
          // misses of consecutive candidates instead of stalling on each.
          const lower =
            popcount16(h[base]! ^ q0) +
            popcount16(h[base + 1]! ^ q1) +
            popcount16(h[base + 2]! ^ q2) +
            popcount16(h[base + 3]! ^ q3) +
            popcount16(h[base + 4]! ^ q4) +
            popcount16(h[base + 5]! ^ q5) +
            popcount16(h[base + 6]! ^ q6) +
            popcount16(h[base + 7]! ^ q7);
          if (lower <= radius) this.verify(base, s, t, popcount16(mask), query, radius, onHit);
        }
      }
    }
  }

  /** Full check of a candidate found in slot `s` at slot distance `slotDistance`. */
  private verify(base: number, s: number, t: number, slotDistance: number, query: PdqHash, radius: number, onHit: HitCallback): void {
    const h = this.hashes;
    // An entry with an earlier slot also within t is reported from that slot's probe; checking
    // that here de-duplicates without per-query state.
    for (let w = 0; w < s; w++) if (popcount16(h[base + w]! ^ query[w]!) <= t) return;
    let d = slotDistance;
    for (let w = 0; w < SLOTS; w++) if (w !== s) d += popcount16(h[base + w]! ^ query[w]!);
    if (d <= radius) onHit(base / 16, d);
  }

  /** Probing costs a bucket look-up per mask per slot; past the list's size a scan is cheaper. */
  private probingPays(t: number): boolean {
    const probes = SLOTS * MASKS_UPTO[t]!;
    const expectedCandidates = (probes * this.size) / BUCKETS;
    return probes + expectedCandidates < this.size;
  }
}

/**
 * Builds one slot at a time as a stable LSD radix sort of (slot word, entry) on two 8-bit
 * digits: every scatter writes into 256 sequential streams, which caches and write-combining
 * handle well, instead of 65536 random positions (a counting sort on the full 16 bits makes one
 * cache miss per write: about three times slower at ten million entries). Stability keeps
 * entries ascending inside each bucket, so results are deterministic. Scratch: 8 bytes per
 * entry, reused across slots. Yields after about `stepEntries` entries of work so a caller can
 * let the event loop through.
 */
function* buildSlots(hashes: Uint16Array, size: number, stepEntries: number): Generator<void, MihIndex> {
  if (!Number.isInteger(size) || size < 0 || hashes.length < size * 16) {
    throw new RangeError(`hashes hold ${hashes.length >>> 4} entries, not ${size}`);
  }
  const step = Math.max(1, Math.floor(stepEntries));
  const offsets: Uint32Array[] = [];
  const ids: Uint32Array[] = [];
  const keys = new Uint16Array(size);
  const tmpKeys = new Uint16Array(size);
  const tmpIds = new Uint32Array(size);
  const lowCount = new Uint32Array(257);
  const highCount = new Uint32Array(257);
  for (let s = 0; s < SLOTS; s++) {
    const off = new Uint32Array(BUCKETS + 1);
    const out = new Uint32Array(size);
    lowCount.fill(0);
    highCount.fill(0);
    for (let from = 0; from < size; from += step) {
      const end = Math.min(size, from + step);
      for (let e = from, at = from * 16 + s; e < end; e++, at += 16) {
        const key = hashes[at]!;
        keys[e] = key;
        off[key + 1]!++;
        lowCount[(key & 0xff) + 1]!++;
        highCount[(key >>> 8) + 1]!++;
      }
      yield;
    }
    for (let v = 0; v < BUCKETS; v++) off[v + 1]! += off[v]!;
    for (let d = 0; d < 256; d++) {
      lowCount[d + 1]! += lowCount[d]!;
      highCount[d + 1]! += highCount[d]!;
    }
    for (let from = 0; from < size; from += step) {
      const end = Math.min(size, from + step);
      for (let e = from; e < end; e++) {
        const key = keys[e]!;
        const at = lowCount[key & 0xff]!++;
        tmpKeys[at] = key;
        tmpIds[at] = e;
      }
      yield;
    }
    for (let from = 0; from < size; from += step) {
      const end = Math.min(size, from + step);
      for (let i = from; i < end; i++) out[highCount[tmpKeys[i]! >>> 8]!++] = tmpIds[i]!;
      yield;
    }
    offsets.push(off);
    ids.push(out);
  }
  return MihIndex.fromParts(hashes, size, offsets, ids);
}
