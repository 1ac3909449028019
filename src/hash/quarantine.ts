/**
 * Flood quarantine: a list entry that matches on more than `maxStreams` distinct streams within
 * `windowMs` stops acting (its matches are counted and logged, never acted on) until an
 * operator releases it, so one bad entry (a false positive on a common image: a logo, a
 * test card) cannot kill thousands of streams. The state is shared by every worker through a
 * QuarantineStore (a JetStream KV bucket in production, quarantine-kv.ts).
 *
 * Records are small (the most recent stream ids, capped), written only when an entry matches
 * on a stream it was not recently recorded for, so a stream showing a listed image for an hour
 * costs a handful of writes, not one per frame.
 */
import type { HashMatch, QuarantineEvent } from '../contracts/index.js';
import { SCHEMA_VERSION } from '../contracts/index.js';
import type { Logger } from '../domain/logger.js';
import type { FrameMatches, GateResult, MatchGate, VideoFrameHit } from '../domain/ports.js';

import type { QuarantineOptions } from '../config/index.js';

export type { QuarantineOptions };

/** A list entry: its list and its hash (64 lower-case hex). */
export interface EntryKey {
  readonly list: string;
  readonly hash: string;
}

export interface QuarantineRecord extends EntryKey {
  readonly label?: string;
  /** Stream id -> last time (epoch ms) the entry was recorded matching on it, within the window. */
  readonly streams: Readonly<Record<string, number>>;
  /** When the entry was quarantined; absent while it acts. */
  readonly quarantinedAt?: string;
  readonly quarantinedBy?: string;
  readonly releasedAt?: string;
  readonly releasedBy?: string;
}

/** Shared state: compare-and-set updates and a watch, as a KV bucket gives them. */
export interface QuarantineStore {
  /**
   * Replaces the entry's record with `change(current)` atomically (retrying on a concurrent
   * write); `undefined` from `change` leaves it as it is. Returns the records before and after.
   */
  update(
    key: EntryKey,
    change: (current: QuarantineRecord | undefined) => QuarantineRecord | undefined,
  ): Promise<{ before?: QuarantineRecord; after?: QuarantineRecord }>;
  list(): Promise<QuarantineRecord[]>;
  /** Calls `onChange` with every record now, then with every change; resolves once the current ones were delivered. */
  watch(onChange: (record: QuarantineRecord) => void): Promise<{ stop(): void }>;
}

/** Stream ids kept per record: enough to decide (maxStreams + 1) and to show the operator some. */
function keptStreams(options: QuarantineOptions): number {
  return Math.min(50, Math.max(options.maxStreams + 1, 20));
}

export function entryKeyString(key: EntryKey): string {
  return `${key.list}.${key.hash}`;
}

/**
 * The record after `streamId` matched at `now`: streams outside the window dropped, the newest
 * kept, and the entry quarantined when more than maxStreams distinct streams remain. Pure.
 */
export function recordMatch(
  current: QuarantineRecord | undefined,
  match: EntryKey & { readonly label?: string },
  streamId: string,
  now: number,
  options: QuarantineOptions,
  by: string,
): QuarantineRecord {
  const since = now - options.windowMs;
  const recent = Object.entries(current?.streams ?? {}).filter(([id, at]) => at > since && id !== streamId);
  recent.push([streamId, now]);
  recent.sort((a, b) => b[1] - a[1]);
  const streams = Object.fromEntries(recent.slice(0, keptStreams(options)));
  const base: QuarantineRecord = {
    ...(current ?? { list: match.list, hash: match.hash }),
    ...(match.label === undefined ? {} : { label: match.label }),
    streams,
  };
  if (base.quarantinedAt || recent.length <= options.maxStreams) return base;
  return { ...base, quarantinedAt: new Date(now).toISOString(), quarantinedBy: by };
}

/** The record after an operator released it: acting again, its window started afresh. */
export function releaseRecord(current: QuarantineRecord, now: number, by: string): QuarantineRecord {
  const { quarantinedAt: _q, quarantinedBy: _b, ...rest } = current;
  return { ...rest, streams: {}, releasedAt: new Date(now).toISOString(), releasedBy: by };
}

export function quarantineEvent(record: QuarantineRecord, options: QuarantineOptions, state: 'quarantined' | 'released'): QuarantineEvent {
  const at = (state === 'quarantined' ? record.quarantinedAt : record.releasedAt) ?? new Date().toISOString();
  const by = (state === 'quarantined' ? record.quarantinedBy : record.releasedBy) ?? 'unknown';
  const streamIds = Object.entries(record.streams)
    .sort((a, b) => b[1] - a[1])
    .map(([id]) => id);
  return {
    schemaVersion: SCHEMA_VERSION,
    type: 'quarantine',
    eventId: `quarantine-${state}-${record.list}-${record.hash.slice(0, 16)}-${Date.parse(at)}`,
    state,
    list: record.list,
    hash: record.hash,
    ...(record.label === undefined ? {} : { label: record.label }),
    streams: streamIds.length,
    streamIds: streamIds.slice(0, 50),
    maxStreams: options.maxStreams,
    windowMs: options.windowMs,
    at,
    by,
  };
}

export type { GateResult };

export interface QuarantineGate extends MatchGate {
  /** True once the shared state present at start has been read. */
  readonly ready: boolean;
  start(): Promise<void>;
  stop(): void;
  isQuarantined(key: EntryKey): boolean;
}

export interface QuarantineGateDeps {
  readonly store: QuarantineStore;
  readonly options: QuarantineOptions;
  /** Written into records and events: who quarantined. */
  readonly workerId: string;
  readonly logger?: Logger;
  readonly now?: () => number;
}

/**
 * A worker's view of the quarantine: quarantined entries held locally (fed by the store's
 * watch, so a frame's check costs a set look-up), and the shared record updated when an entry
 * matches on a stream not recorded for it within the last quarter window. A store that cannot
 * be written (NATS down) fails open: the match acts, since a confirmed match must never be lost
 * to an outage of a safety net.
 */
export function createQuarantineGate(deps: QuarantineGateDeps): QuarantineGate {
  const { store, options } = deps;
  const now = deps.now ?? Date.now;
  const quarantined = new Set<string>();
  /** entry + stream -> when this worker last recorded it. */
  const recorded = new Map<string, number>();
  const refreshMs = Math.max(1, Math.floor(options.windowMs / 4));
  let watcher: { stop(): void } | undefined;
  let ready = false;

  const apply = (record: QuarantineRecord): void => {
    const key = entryKeyString(record);
    if (record.quarantinedAt) quarantined.add(key);
    else quarantined.delete(key);
  };

  const forget = (t: number): void => {
    if (recorded.size < 10_000) return;
    for (const [k, at] of recorded) if (t - at >= refreshMs) recorded.delete(k);
  };

  return {
    get ready() {
      return ready;
    },
    async start() {
      watcher = await store.watch(apply);
      ready = true;
    },
    stop() {
      watcher?.stop();
    },
    isQuarantined: (key) => quarantined.has(entryKeyString(key)),
    async screen(streamId, matches) {
      if (matches.length === 0) return { acting: [], quarantined: [], newlyQuarantined: [] };
      const acting: HashMatch[] = [];
      const held: HashMatch[] = [];
      const reported: QuarantineEvent[] = [];
      for (const m of matches) {
        const key = entryKeyString(m);
        if (quarantined.has(key)) {
          held.push(m);
          continue;
        }
        const t = now();
        const seen = `${key}\u0000${streamId}`;
        const last = recorded.get(seen);
        if (last !== undefined && t - last < refreshMs) {
          acting.push(m);
          continue;
        }
        try {
          const { before, after } = await store.update(m, (current) =>
            current?.quarantinedAt ? undefined : recordMatch(current, m, streamId, t, options, deps.workerId),
          );
          forget(t);
          recorded.set(seen, t);
          if (after?.quarantinedAt) {
            apply(after);
            held.push(m);
            if (!before?.quarantinedAt) reported.push(quarantineEvent(after, options, 'quarantined'));
          } else acting.push(m);
        } catch (err) {
          deps.logger?.warn({ err, list: m.list, hash: m.hash }, 'quarantine state not writable; the match acts');
          acting.push(m);
        }
      }
      return { acting, quarantined: held, newlyQuarantined: reported };
    },
  };
}

/** What the gate made of one frame: its acting image matches, and the known-video frame hits that still count. */
export interface FrameGateResult extends GateResult {
  /** The frame's known-video hits less those of quarantined entries: what the stream's video window may count. */
  readonly videoFrames: readonly VideoFrameHit[];
}

/**
 * The gate over everything one frame matched. A frame of a known video is a list entry (its
 * list, its frame hash) like an image: matching on too many streams quarantines it (a black
 * frame, a title card shared by many videos), and a quarantined one stops counting towards its
 * video's match, as a quarantined image entry stops acting. A picture in several videos of one
 * list is one entry, gated once.
 */
export async function gateFrame(
  gate: MatchGate,
  streamId: string,
  found: Pick<FrameMatches, 'matches' | 'videoFrames'>,
): Promise<FrameGateResult> {
  const videoEntries = new Map<string, HashMatch>();
  for (const f of found.videoFrames) {
    const key = entryKeyString(f);
    const held = videoEntries.get(key);
    if (!held || f.distance < held.distance) videoEntries.set(key, { list: f.list, hash: f.hash, distance: f.distance, action: f.action });
  }
  if (found.matches.length === 0 && videoEntries.size === 0) return { acting: [], quarantined: [], newlyQuarantined: [], videoFrames: [] };
  const gated = await gate.screen(streamId, [...found.matches, ...videoEntries.values()]);
  const heldVideo = new Set(gated.quarantined.map(entryKeyString).filter((k) => videoEntries.has(k)));
  return {
    acting: gated.acting.filter((m) => !videoEntries.has(entryKeyString(m))),
    quarantined: gated.quarantined,
    newlyQuarantined: gated.newlyQuarantined,
    videoFrames: heldVideo.size === 0 ? found.videoFrames : found.videoFrames.filter((f) => !heldVideo.has(entryKeyString(f))),
  };
}

/** One process's store (`streamscreen screen`, tests): the same semantics without sharing. */
export function createMemoryQuarantineStore(): QuarantineStore {
  const records = new Map<string, QuarantineRecord>();
  const watchers = new Set<(r: QuarantineRecord) => void>();
  return {
    update(key, change) {
      const k = entryKeyString(key);
      const before = records.get(k);
      const next = change(before);
      if (next) {
        records.set(k, next);
        for (const w of watchers) w(next);
      }
      return Promise.resolve({ ...(before ? { before } : {}), ...((next ?? before) ? { after: next ?? before } : {}) });
    },
    list: () => Promise.resolve([...records.values()]),
    watch(onChange) {
      for (const r of records.values()) onChange(r);
      watchers.add(onChange);
      return Promise.resolve({ stop: () => watchers.delete(onChange) });
    },
  };
}
