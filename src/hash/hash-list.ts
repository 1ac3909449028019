import type { HashIndex } from './hash-index.js';
import type { LabelTable } from './label-pool.js';

/**
 * What a hit on a list should cause. `kill` is for confirmed-CSAM lists (stop the stream now);
 * `escalate` for lower-confidence or non-CSAM lists (a human reviews); `negative` for hashes
 * known to be benign or to cause false matches: a hit suppresses the frame's other matches.
 */
export type HashListAction = 'kill' | 'escalate' | 'negative';
export const HASH_LIST_ACTIONS: readonly HashListAction[] = ['kill', 'escalate', 'negative'];
/** The actions whose hits act on a stream (and appear in events). */
export type ActingAction = Exclude<HashListAction, 'negative'>;

/** `vpdq`: known videos, Meta's vPDQ frame lines (parse-vpdq.ts), matched video by video. */
export type HashListFormat = 'text' | 'csv' | 'vpdq';

/** List ids become Object Store object names, metric labels and `--lists` tokens. */
export const HASH_LIST_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** One configured list, as the lead's config maps it. */
export interface HashListSpec {
  readonly id: string;
  /** Local file; lists distributed over NATS have no path (the object name is the id). */
  readonly path?: string;
  /** Defaults to `kill`. */
  readonly action?: HashListAction;
  readonly label?: string;
  /** Who supplied the list (e.g. `ncmec`, `internal`); carried into status and logs. */
  readonly source?: string;
  /** Defaults to true; a disabled list is not loaded at all. */
  readonly enabled?: boolean;
  /** Match distance for this list; the matcher's maxDistance when absent. */
  readonly maxDistance?: number;
  /** Known-video lists (format vpdq): the video-match rule; defaults when absent. */
  readonly video?: Partial<VideoMatchRule>;
  /** Forces a format instead of detecting it from the name and first line. */
  readonly format?: HashListFormat;
}

/**
 * A parsed list held compactly: hashes packed 16 words per entry (no object per entry) and
 * labels interned, so ten million entries cost 32 bytes each plus 4 when any entry is labelled (and the label bytes).
 */
export interface HashListData {
  readonly count: number;
  /** count * 16 words, entry i at [16i, 16i + 16), most significant word first. */
  readonly hashes: Uint16Array;
  /** Per entry: 0 = no label of its own, else an id in `labels`. Null when no entry has one. */
  readonly labelIds: Uint32Array | null;
  readonly labels: LabelTable;
  readonly format: HashListFormat;
  readonly stats: HashListStats;
  /** Known-video lists only: which video each entry (a frame hash) belongs to. */
  readonly videos?: VideoFrames;
}

/** A known video of a vPDQ list. */
export interface KnownVideo {
  readonly id: string;
  /** Distinct frame hashes of quality >= 50: what a matched share is a share of. */
  readonly frames: number;
  /** Seconds from its first to its last listed frame. */
  readonly duration: number;
  /** Median seconds between listed frames (its sampling interval). */
  readonly step: number;
}

export interface VideoFrames {
  /** Per entry: index into `known`. */
  readonly videoOf: Uint32Array;
  /** Per entry: seconds into its video where this frame hash first appears. */
  readonly timestamps: Float32Array;
  readonly known: readonly KnownVideo[];
}

/**
 * How a known-video list decides that a stream shows one of its videos (the vPDQ rule over a
 * stream's recent frames, plus a run of consecutive content for streams showing only part).
 */
export interface VideoMatchRule {
  /** Share of the video's distinct frames matched within the window (vPDQ's P_c). */
  readonly matchShare: number;
  /** Share of the stream's frames in the window that matched it (vPDQ's P_q). */
  readonly queryShare: number;
  /** Also a match: this many seconds of the video's timeline matched without a gap. */
  readonly minMatchedSeconds: number;
}

export interface HashListStats {
  /** Physical lines read, including blank ones and comments. */
  readonly lines: number;
  readonly entries: number;
  /** CSV rows whose signal type is not PDQ (e.g. an md5 row in a mixed export): skipped, counted. */
  readonly skippedOtherTypes: number;
  /** Entries whose list-supplied quality is below 50 (kept: the list owner vouched for them). */
  readonly lowQuality: number;
  readonly withQuality: number;
}

/** Where a loaded list came from and what it claims to be. */
export interface HashListMeta {
  readonly id: string;
  readonly action: HashListAction;
  readonly label?: string;
  readonly source?: string;
  /** This list's own match distance, when it has one. */
  readonly maxDistance?: number;
  /** Known-video lists: the video-match rule, when the list sets any of it. */
  readonly video?: Partial<VideoMatchRule>;
  readonly format: HashListFormat;
  /** Lower-case hex SHA-256 of the file's bytes as loaded. */
  readonly sha256: string;
  /** `file:<path>` or `nats:<bucket>/<object>@<revision>`. */
  readonly origin: string;
  readonly loadedAt: string;
}

/** A list as parsed, before indexing. */
export interface ParsedHashList {
  readonly data: HashListData;
  /** Lower-case hex SHA-256 of exactly the bytes parsed. */
  readonly sha256: string;
  readonly bytes: number;
}

/** A list ready to serve: parsed, indexed, immutable. */
export interface LoadedList {
  readonly meta: HashListMeta;
  readonly data: HashListData;
  readonly index: HashIndex;
}

export function entryLabel(data: HashListData, entry: number): string | undefined {
  const id = data.labelIds?.[entry] ?? 0;
  return id === 0 ? undefined : data.labels.get(id);
}
