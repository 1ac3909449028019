import type { PdqHash } from '../../src/domain/pdq.js';
import type { HashIndex } from '../../src/hash/hash-index.js';

/** For tests and the hash benchmark: an index's hits as [entry, distance], sorted by entry. */
export function searchAll(index: HashIndex, query: PdqHash, radius: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  index.search(query, radius, (entry, distance) => out.push([entry, distance]));
  return out.sort((a, b) => a[0] - b[0]);
}
