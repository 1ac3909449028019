import type { HashMatcherOptions } from '../config/index.js';
import type { HashMatch } from '../contracts/index.js';
import { HashListError } from '../domain/errors.js';
import { pdqToHex, type PdqHash } from '../domain/pdq.js';
import type { FrameMatches, HashMatcher, NegativeHit, VideoFrameHit } from '../domain/ports.js';
import { entryLabel, type HashListAction, type LoadedList } from './hash-list.js';

export interface ListSummary {
  readonly id: string;
  readonly action: HashListAction;
  readonly label?: string;
  readonly source?: string;
  /** The distance this list matches at (its own, or the matcher's). */
  readonly maxDistance: number;
  readonly count: number;
  readonly sha256: string;
  readonly origin: string;
  readonly loadedAt: string;
  readonly index: 'scan' | 'mih';
  readonly indexBytes: number;
  readonly hashBytes: number;
  /** Which source (file loader, object-store sync) installed it. */
  readonly owner: string;
}

/**
 * One producer of lists (local files, an Object Store bucket). Every change is a new immutable
 * snapshot swapped in with one assignment, so a frame being matched sees the old lists or the
 * new ones, never a mixture, and never a list half-built.
 */
export interface HashListSource {
  readonly name: string;
  /** Replaces every list this source owns with `lists` (lists it owned and omits are dropped). */
  replaceAll(lists: readonly LoadedList[]): void;
  /** Adds or replaces lists and drops `remove` ids, as one swap; marks the source loaded. */
  apply(change: { put?: readonly LoadedList[]; remove?: readonly string[] }): void;
  /** Marks the source's initial load complete even if it installed nothing (an empty bucket). */
  markLoaded(): void;
}

export interface LookupOptions {
  /** Only these list ids (unknown ids are ignored). Default: every list. */
  readonly lists?: readonly string[];
  /** One radius for every list; default each list's own distance. */
  readonly radius?: number;
}

/** An operator look-up's hit: any list, negative ones included. */
export interface ListHit {
  readonly list: string;
  readonly label?: string;
  readonly distance: number;
  readonly hash: string;
  readonly action: HashListAction;
  /** Known-video lists: the video and where in it (seconds) the matched frame first appears. */
  readonly video?: { readonly id: string; readonly at: number };
}

/** A hit with what matchFrame needs beside it. */
interface Found extends ListHit {
  readonly from: LoadedList;
  readonly entry: number;
}

/**
 * The pipeline's HashMatcher port (domain/ports.ts) plus what the composition root and the
 * operator commands need: list sources, a summary, and an ungated look-up. `ready` is true once
 * every registered source has installed its first load; matches sort kill-list hits first, then
 * by distance.
 */
export interface HashMatcherService extends HashMatcher {
  readonly options: HashMatcherOptions;
  source(name: string): HashListSource;
  lists(): ListSummary[];
  /** Operator look-up: no quality gate, no negative suppression, any radius (the `match` command, the lookup API). */
  lookup(hash: PdqHash, options?: LookupOptions): ListHit[];
}

interface Served {
  readonly list: LoadedList;
  readonly owner: string;
}

type Snapshot = ReadonlyMap<string, Served>;

/** `options`: hash.maxDistance (the distance of lists without their own) and hash.minQuality (frames below it are not matched), resolved at load. */
export function createHashMatcher(options: HashMatcherOptions): HashMatcherService {
  const resolved = options;
  let snapshot: Snapshot = new Map();
  const sources = new Map<string, { loaded: boolean }>();

  const swap = (owner: string, put: readonly LoadedList[], remove: readonly string[], dropOthers: boolean): void => {
    const next = new Map(snapshot);
    if (dropOthers) for (const [id, s] of next) if (s.owner === owner) next.delete(id);
    for (const id of remove) if (next.get(id)?.owner === owner) next.delete(id);
    for (const list of put) {
      const held = next.get(list.meta.id);
      if (held && held.owner !== owner) {
        throw new HashListError(
          `list id '${list.meta.id}' is already served by ${held.owner} (${held.list.meta.origin}); ids must be unique`,
          list.meta.origin,
        );
      }
      next.set(list.meta.id, { list, owner });
    }
    snapshot = next;
    sources.get(owner)!.loaded = true;
  };

  const radiusOf = (list: LoadedList): number => list.meta.maxDistance ?? resolved.maxDistance;

  /**
   * Every hit of `hash` on the served lists into `into`, keyed by list and entry: the same hash
   * twice in one list (exports repeat entries), or found by two dihedral hashes, is one hit at
   * its smallest distance. In a known-video list the same picture in two videos is two hits.
   */
  const collect = (hash: PdqHash, radius: number | undefined, only: ReadonlySet<string> | undefined, into: Map<string, Found>): void => {
    for (const { list } of snapshot.values()) {
      const { meta, data, index } = list;
      if (only && !only.has(meta.id)) continue;
      const videos = data.videos;
      index.search(hash, radius ?? radiusOf(list), (entry, distance) => {
        const hex = pdqToHex(data.hashes.subarray(entry * 16, entry * 16 + 16));
        const videoIndex = videos?.videoOf[entry];
        const key = `${meta.id}\u0000${hex}${videoIndex === undefined ? '' : `\u0000${videoIndex}`}`;
        const seen = into.get(key);
        if (seen && seen.distance <= distance) return;
        const label = entryLabel(data, entry) ?? meta.label;
        const video = videos && videoIndex !== undefined ? { id: videos.known[videoIndex]!.id, at: videos.timestamps[entry]! } : undefined;
        into.set(key, {
          list: meta.id,
          ...(label === undefined ? {} : { label }),
          distance,
          hash: hex,
          action: meta.action,
          ...(video ? { video } : {}),
          from: list,
          entry,
        });
      });
    }
  };

  const byPriority = <T extends { action?: string; distance: number; list: string; hash: string }>(a: T, b: T): number =>
    actionRank(a.action) - actionRank(b.action) || a.distance - b.distance || a.list.localeCompare(b.list) || a.hash.localeCompare(b.hash);

  const NO_MATCHES: FrameMatches = { matches: [], negative: [], suppressed: [], videoFrames: [] };

  const videoHit = (f: Found, action: 'kill' | 'escalate'): VideoFrameHit => {
    const videos = f.from.data.videos!;
    const known = videos.known[videos.videoOf[f.entry]!]!;
    return {
      list: f.list,
      action,
      video: known.id,
      videoFrames: known.frames,
      step: known.step,
      hash: f.hash,
      at: videos.timestamps[f.entry]!,
      distance: f.distance,
      rule: { ...resolved.video, ...f.from.meta.video },
    };
  };

  const matchFrame = (hashes: readonly PdqHash[], quality: number): FrameMatches => {
    if (!(quality >= resolved.minQuality)) return NO_MATCHES;
    const found = new Map<string, Found>();
    for (const h of hashes) collect(h, undefined, undefined, found);
    if (found.size === 0) return NO_MATCHES;
    const acting: HashMatch[] = [];
    const negative: NegativeHit[] = [];
    const videoFrames: VideoFrameHit[] = [];
    for (const f of found.values()) {
      const { list, label, distance, hash, action } = f;
      const hit = { list, ...(label === undefined ? {} : { label }), distance, hash };
      if (action === 'negative') negative.push(hit);
      // A known video's frame alone acts on nothing: the stream's window decides a video match.
      else if (f.from.data.videos) videoFrames.push(videoHit(f, action));
      else acting.push({ ...hit, action });
    }
    acting.sort(byPriority);
    negative.sort(byPriority);
    // A frame a negative list recognises (a logo card, a known false match) acts on nothing.
    return negative.length
      ? { matches: [], negative, suppressed: acting, videoFrames: [] }
      : { matches: acting, negative, suppressed: [], videoFrames };
  };

  const service: HashMatcherService = {
    options: resolved,
    get ready() {
      if (sources.size === 0) return false;
      for (const s of sources.values()) if (!s.loaded) return false;
      return true;
    },
    match(hash, quality) {
      return [...matchFrame([hash], quality).matches];
    },
    matchAny(hashes, quality) {
      return [...matchFrame(hashes, quality).matches];
    },
    matchFrame,
    lookup(hash, lookupOptions = {}) {
      const found = new Map<string, Found>();
      collect(hash, lookupOptions.radius, lookupOptions.lists ? new Set(lookupOptions.lists) : undefined, found);
      return [...found.values()].map(({ from: _from, entry: _entry, ...hit }): ListHit => hit).sort(byPriority);
    },
    source(name) {
      if (sources.has(name)) throw new Error(`hash list source '${name}' registered twice`);
      sources.set(name, { loaded: false });
      return {
        name,
        replaceAll: (lists) => swap(name, lists, [], true),
        apply: (change) => swap(name, change.put ?? [], change.remove ?? [], false),
        markLoaded: () => {
          sources.get(name)!.loaded = true;
        },
      };
    },
    lists() {
      return [...snapshot.values()]
        .map(({ list: { meta, data, index }, owner }) => ({
          id: meta.id,
          action: meta.action,
          ...(meta.label === undefined ? {} : { label: meta.label }),
          ...(meta.source === undefined ? {} : { source: meta.source }),
          maxDistance: meta.maxDistance ?? resolved.maxDistance,
          count: data.count,
          sha256: meta.sha256,
          origin: meta.origin,
          loadedAt: meta.loadedAt,
          index: index.kind,
          indexBytes: index.indexBytes,
          hashBytes: data.hashes.byteLength,
          owner,
        }))
        .sort((a, b) => a.id.localeCompare(b.id));
    },
  };
  return service;
}

/** Kill-list hits first, then escalate, then negative. */
function actionRank(action: string | undefined): number {
  return (action ?? 'kill') === 'kill' ? 0 : action === 'escalate' ? 1 : 2;
}
