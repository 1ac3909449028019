import type { PdqHash } from '../domain/pdq.js';
import type { HashIndex, HitCallback } from './hash-index.js';
import { scanRange } from './index-scan.js';
import { popcount16 } from './pdq-hash.js';

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
    const builder = new MihBuilder(hashes, size);
    while (!builder.step(size)) {
      // one step does everything when given the whole size
    }
    return builder.result();
  }

  /**
   * Same index, built in steps of `entriesPerStep` with the event loop let through between
   * them: ten million entries take seconds, and frames keep being screened against the old
   * index meanwhile.
   */
  static async buildAsync(hashes: Uint16Array, size: number = hashes.length >>> 4, entriesPerStep = 1 << 18): Promise<MihIndex> {
    const builder = new MihBuilder(hashes, size);
    while (!builder.step(entriesPerStep)) await new Promise<void>((resolve) => setImmediate(resolve));
    return builder.result();
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
    for (let s = 0; s < SLOTS; s++) {
      const off = this.offsets[s]!;
      const ids = this.ids[s]!;
      const qs = query[s]!;
      for (let k = 0; k < nMasks; k++) {
        const mask = MASKS[k]!;
        const v = qs ^ mask;
        const end = off[v + 1]!;
        const slotDistance = popcount16(mask);
        for (let j = off[v]!; j < end; j++) {
          const e = ids[j]!;
          const base = e * 16;
          let d = slotDistance;
          let w = 0;
          // An entry with an earlier slot also within t was (or will be) reported from that
          // slot's probe; checking that here de-duplicates without per-query state.
          for (; w < s; w++) {
            const x = popcount16(h[base + w]! ^ query[w]!);
            if (x <= t) break;
            d += x;
            if (d > radius) break;
          }
          if (w < s) continue;
          for (w = s + 1; w < SLOTS && d <= radius; w++) d += popcount16(h[base + w]! ^ query[w]!);
          if (d <= radius) onHit(e, d);
        }
      }
    }
  }

  /** Probing costs a bucket look-up per mask per slot; past the list's size a scan is cheaper. */
  private probingPays(t: number): boolean {
    const probes = SLOTS * MASKS_UPTO[t]!;
    const expectedCandidates = (probes * this.size) / BUCKETS;
    return probes + expectedCandidates < this.size;
  }
}

/**
 * Two passes over the entries: count every slot's values, then (after prefix sums) place the
 * ids. Entries stay in ascending order inside each bucket, so results are deterministic.
 */
class MihBuilder {
  readonly #offsets: Uint32Array[] = [];
  readonly #ids: Uint32Array[] = [];
  readonly #cursors: Uint32Array[] = [];
  #pass: 'count' | 'place' | 'done' = 'count';
  #next = 0;

  constructor(
    readonly hashes: Uint16Array,
    readonly size: number,
  ) {
    if (!Number.isInteger(size) || size < 0 || hashes.length < size * 16) {
      throw new RangeError(`hashes hold ${hashes.length >>> 4} entries, not ${size}`);
    }
    for (let s = 0; s < SLOTS; s++) this.#offsets.push(new Uint32Array(BUCKETS + 1));
  }

  /** Does up to `entries` entries of work; true when the index is complete. */
  step(entries: number): boolean {
    const h = this.hashes;
    if (this.#pass === 'count') {
      const end = Math.min(this.size, this.#next + entries);
      for (let e = this.#next, base = e * 16; e < end; e++, base += 16) {
        for (let s = 0; s < SLOTS; s++) this.#offsets[s]![h[base + s]! + 1]!++;
      }
      this.#next = end;
      if (end < this.size) return false;
      for (let s = 0; s < SLOTS; s++) {
        const off = this.#offsets[s]!;
        for (let v = 0; v < BUCKETS; v++) off[v + 1]! += off[v]!;
        this.#cursors.push(off.slice(0, BUCKETS));
        this.#ids.push(new Uint32Array(this.size));
      }
      this.#pass = 'place';
      this.#next = 0;
    }
    if (this.#pass === 'place') {
      const end = Math.min(this.size, this.#next + entries);
      for (let e = this.#next, base = e * 16; e < end; e++, base += 16) {
        for (let s = 0; s < SLOTS; s++) this.#ids[s]![this.#cursors[s]![h[base + s]!]!++] = e;
      }
      this.#next = end;
      if (end < this.size) return false;
      this.#cursors.length = 0;
      this.#pass = 'done';
    }
    return true;
  }

  result(): MihIndex {
    if (this.#pass !== 'done') throw new Error('index not complete');
    return MihIndex.fromParts(this.hashes, this.size, this.#offsets, this.#ids);
  }
}
