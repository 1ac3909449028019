import { popcount16, type PdqHash } from '../domain/pdq.js';
import type { HashIndex, HitCallback } from './hash-index.js';

/**
 * The brute-force baseline: compares the query with every entry. Kept as the reference the
 * multi-index is tested against, for small lists where building an index is not worth it,
 * and for radii so large that the multi-index would probe more buckets than there are entries.
 */
export class ScanIndex implements HashIndex {
  readonly kind = 'scan' as const;
  readonly indexBytes = 0;

  constructor(
    readonly hashes: Uint16Array,
    readonly size: number = hashes.length >>> 4,
  ) {}

  search(query: PdqHash, radius: number, onHit: HitCallback): void {
    scanRange(this.hashes, this.size, query, radius, onHit);
  }
}

export function scanRange(hashes: Uint16Array, size: number, query: PdqHash, radius: number, onHit: HitCallback): void {
  if (radius < 0) return;
  const q0 = query[0]!,
    q1 = query[1]!,
    q2 = query[2]!,
    q3 = query[3]!;
  for (let e = 0, base = 0; e < size; e++, base += 16) {
    // The first four words usually exceed a small radius already: cut the loop early.
    let d =
      popcount16(hashes[base]! ^ q0) +
      popcount16(hashes[base + 1]! ^ q1) +
      popcount16(hashes[base + 2]! ^ q2) +
      popcount16(hashes[base + 3]! ^ q3);
    if (d > radius) continue;
    for (let w = 4; w < 16 && d <= radius; w++) d += popcount16(hashes[base + w]! ^ query[w]!);
    if (d <= radius) onHit(e, d);
  }
}
