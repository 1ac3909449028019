/**
 * What the composition root wires from the hash-list side (one import for config/pipeline):
 *
 *   const matcher = createHashMatcher({ maxDistance, minQuality, dihedral });
 *   const files = createFileHashLists({ sink: matcher.source('files'), lists, logger });
 *   await files.load();                       // all or nothing; SIGHUP -> files.reload()
 *   const sync = createHashListSync({ nc, sink: matcher.source('nats'), bucket, logger, onEvent });
 *   await sync.start();                       // ready after the bucket's first pass
 *   pipeline: matcher.ready, matcher.matchResult(pdq) / matcher.match(hash, quality)
 */
export type { HashListAction, HashListFormat, HashListSpec, LoadedList } from './hash-list.js';
export { HASH_LIST_ID_PATTERN } from './hash-list.js';
export {
  createHashMatcher,
  DEFAULT_MAX_DISTANCE,
  DEFAULT_MIN_QUALITY,
  type HashListSource,
  type HashMatcher,
  type HashMatcherOptions,
  type HashMatcherService,
  type ListSummary,
} from './hash-matcher.js';
export { createFileHashLists, validateSpecs, type FileHashLists, type FileHashListsOptions, type ReloadReport } from './file-lists.js';
export { createHashListSync, type HashListSync, type HashListSyncEvent, type HashListSyncOptions, type ListSyncStatus } from './object-store-sync.js';
export { publishHashList, type PublishRequest } from './object-store-lists.js';
export type { IndexOptions } from './hash-index.js';
