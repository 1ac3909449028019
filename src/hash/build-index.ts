import type { HashIndex, IndexOptions } from './hash-index.js';
import { DEFAULT_MIN_INDEXED_SIZE } from './hash-index.js';
import { MihIndex } from './index-mih.js';
import { ScanIndex } from './index-scan.js';

/** The index a list of this size should get (see IndexOptions). */
export function buildHashIndex(hashes: Uint16Array, size: number, options: IndexOptions = {}): HashIndex {
  const min = options.minIndexedSize ?? DEFAULT_MIN_INDEXED_SIZE;
  return size < min ? new ScanIndex(hashes, size) : MihIndex.build(hashes, size);
}
