import type { PdqHash } from '../domain/pdq.js';

/** Called once per entry within the radius, in no particular order. */
export type HitCallback = (entry: number, distance: number) => void;

/**
 * Exact Hamming range search over one list's packed hashes. Implementations must return exactly
 * what a linear scan returns: no approximate neighbours.
 */
export interface HashIndex {
  readonly kind: 'scan' | 'mih';
  readonly size: number;
  /** The entries in the index's numbering (entry i = words [16i, 16i+16)): what `search` reports. */
  readonly hashes: Uint16Array;
  /** Bytes held by the index beyond the packed hashes themselves. */
  readonly indexBytes: number;
  search(query: PdqHash, radius: number, onHit: HitCallback): void;
}

/** An index and how it renumbered the entries it was built from. */
export interface BuiltIndex {
  readonly index: HashIndex;
  /** order[i] = the input entry that is the index's entry i; null when the numbering is the input's. */
  readonly order: Uint32Array | null;
}

export interface IndexOptions {
  /**
   * Lists smaller than this are scanned: a multi-index costs 2 MiB of bucket offsets whatever
   * the list size and a query visits thousands of buckets, while scanning a few thousand entries
   * takes microseconds. Default 4096.
   */
  readonly minIndexedSize?: number;
}

export const DEFAULT_MIN_INDEXED_SIZE = 4096;
