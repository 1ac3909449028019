import type { PdqHash } from '../../domain/pdq.js';

/** Called once per entry within the radius, in no particular order. */
export type HitCallback = (entry: number, distance: number) => void;

/**
 * Exact Hamming range search over one list's packed hashes (entry i = words [16i, 16i+16)).
 * Implementations must return exactly what a linear scan returns: no approximate neighbours.
 */
export interface HashIndex {
  readonly kind: 'scan' | 'mih';
  readonly size: number;
  /** Bytes held by the index beyond the packed hashes themselves. */
  readonly indexBytes: number;
  search(query: PdqHash, radius: number, onHit: HitCallback): void;
}

export interface IndexOptions {
  /**
   * Lists smaller than this are scanned: a multi-index costs 4 MiB of bucket offsets whatever
   * the list size, and scanning a few thousand entries takes microseconds. Default 4096.
   */
  readonly minIndexedSize?: number;
}

export const DEFAULT_MIN_INDEXED_SIZE = 4096;
