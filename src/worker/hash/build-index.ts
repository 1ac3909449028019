import type { HashIndex, IndexOptions } from './hash-index.js';
import { DEFAULT_MIN_INDEXED_SIZE } from './hash-index.js';
import { MihIndex } from './index-mih.js';
import { ScanIndex } from './index-scan.js';

/** The index a list of this size should get (see IndexOptions). */
export function buildHashIndex(hashes: Uint16Array, size: number, options: IndexOptions = {}): HashIndex {
  return size < (options.minIndexedSize ?? DEFAULT_MIN_INDEXED_SIZE) ? new ScanIndex(hashes, size) : MihIndex.build(hashes, size);
}

/** As buildHashIndex, yielding to the event loop while a large index is built. */
export async function buildHashIndexAsync(hashes: Uint16Array, size: number, options: IndexOptions = {}): Promise<HashIndex> {
  return size < (options.minIndexedSize ?? DEFAULT_MIN_INDEXED_SIZE) ? new ScanIndex(hashes, size) : MihIndex.buildAsync(hashes, size);
}
