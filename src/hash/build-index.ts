import type { BuiltIndex, IndexOptions } from './hash-index.js';
import { DEFAULT_MIN_INDEXED_SIZE } from './hash-index.js';
import type { HashListData } from './hash-list.js';
import { MihIndex } from './index-mih.js';
import { ScanIndex } from './index-scan.js';

/** The index a list of this size should get (see IndexOptions). */
export function buildHashIndex(hashes: Uint16Array, size: number, options: IndexOptions = {}): BuiltIndex {
  return size < (options.minIndexedSize ?? DEFAULT_MIN_INDEXED_SIZE)
    ? { index: new ScanIndex(hashes, size), order: null }
    : MihIndex.build(hashes, size);
}

/** As buildHashIndex, yielding to the event loop while a large index is built. */
export async function buildHashIndexAsync(hashes: Uint16Array, size: number, options: IndexOptions = {}): Promise<BuiltIndex> {
  return size < (options.minIndexedSize ?? DEFAULT_MIN_INDEXED_SIZE)
    ? { index: new ScanIndex(hashes, size), order: null }
    : MihIndex.buildAsync(hashes, size);
}

/** Per-entry arrays renumbered as the index numbered the entries (`values` itself when unchanged). */
export function inIndexOrder<T extends Uint32Array | Float32Array>(values: T, order: Uint32Array | null): T {
  if (!order) return values;
  const out = new (values.constructor as new (n: number) => T)(order.length);
  for (let i = 0; i < order.length; i++) out[i] = values[order[i]!]!;
  return out;
}

/** A list's data in its index's numbering: the hashes the index holds, labels reordered alike. */
export function listDataInIndexOrder(data: HashListData, built: BuiltIndex): HashListData {
  if (!built.order) return data;
  const { videos } = data;
  return {
    ...data,
    hashes: built.index.hashes,
    labelIds: data.labelIds && inIndexOrder(data.labelIds, built.order),
    ...(videos
      ? {
          videos: {
            ...videos,
            videoOf: inIndexOrder(videos.videoOf, built.order),
            timestamps: inIndexOrder(videos.timestamps, built.order),
          },
        }
      : {}),
  };
}
