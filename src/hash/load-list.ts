import { buildHashIndexAsync, listDataInIndexOrder } from './build-index.js';
import type { IndexOptions } from './hash-index.js';
import type { HashListAction, HashListMeta, LoadedList, VideoMatchRule } from './hash-list.js';
import type { ParsedHashList } from './parse-hashlist.js';

export interface ListIdentity {
  readonly id: string;
  readonly action?: HashListAction;
  readonly label?: string;
  readonly source?: string;
  readonly maxDistance?: number;
  readonly video?: Partial<VideoMatchRule>;
  readonly origin: string;
}

/** Indexes a parsed list (without blocking the event loop for long) and stamps its metadata. */
export async function indexParsedList(parsed: ParsedHashList, identity: ListIdentity, options: IndexOptions = {}): Promise<LoadedList> {
  const built = await buildHashIndexAsync(parsed.data.hashes, parsed.data.count, options);
  const data = listDataInIndexOrder(parsed.data, built);
  const { index } = built;
  const meta: HashListMeta = {
    id: identity.id,
    action: identity.action ?? 'kill',
    ...(identity.label === undefined ? {} : { label: identity.label }),
    ...(identity.source === undefined ? {} : { source: identity.source }),
    ...(identity.maxDistance === undefined ? {} : { maxDistance: identity.maxDistance }),
    ...(identity.video === undefined ? {} : { video: identity.video }),
    format: data.format,
    sha256: parsed.sha256,
    origin: identity.origin,
    loadedAt: new Date().toISOString(),
  };
  return { meta, data, index };
}
