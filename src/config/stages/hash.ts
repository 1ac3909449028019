import { z } from 'zod';
import { jetStreamName, ms, positiveMs } from '../fields.js';

export const HashListConfigSchema = z.strictObject({
  /** Stable id, reported in every match and used as the object name when distributed over NATS. */
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'list id: 1-64 of A-Z a-z 0-9 _ -'),
  path: z.string().min(1),
  /**
   * `kill` for confirmed abuse material lists; `escalate` for lower-confidence or non-CSAM lists;
   * `negative` for hashes known to be benign or to cause false matches (a platform's logo card):
   * a frame within a negative list's distance has its matches on every other list suppressed.
   */
  action: z.enum(['kill', 'escalate', 'negative']).default('kill'),
  /**
   * This list's match distance instead of hash.maxDistance: a list of near-duplicate-prone
   * images (text cards, UI screens) may need a tighter one, a list of heavily re-encoded
   * material a looser one.
   */
  maxDistance: z.number().int().min(0).max(128).optional(),
  label: z.string().optional(),
  source: z.string().optional(),
  enabled: z.boolean().default(true),
  /**
   * Detected from the file name and first line when absent. `vpdq`: known videos in Meta's vPDQ
   * format (frameNumber,quality,pdqHash,timestampSeconds per line), the path a file (one video)
   * or a directory of them; matched video by video over a stream's recent frames (hash.video).
   */
  format: z.enum(['text', 'csv', 'vpdq']).optional(),
  /** Known-video lists: this list's own video-match rule (any of hash.video's share and seconds fields). */
  video: z
    .strictObject({
      matchShare: z.number().min(0).max(1).optional(),
      queryShare: z.number().min(0).max(1).optional(),
      minMatchedSeconds: z.number().positive().optional(),
    })
    .optional(),
});

export type HashListConfig = z.output<typeof HashListConfigSchema>;

/** Hash lists and matching (config section `hash`). */
export const HashSection = z
  .strictObject({
    lists: z.array(HashListConfigSchema).default([]),
    /**
     * PDQ's published recommendation: two hashes within Hamming distance 31 (of 256 bits) are the
     * same image for matching purposes; beyond it false positives rise quickly.
     */
    maxDistance: z.number().int().min(0).max(128).default(31),
    /**
     * PDQ's quality is how much gradient detail the image had. Below 50 (PDQ's published guidance;
     * near-flat frames: black, fades, solid colours, heavy blur) the hash bits are mostly noise and
     * such frames land within matching distance of unrelated list entries; a false hit here kills
     * a live stream, so they are not matched at all (the classifiers still see the frame).
     */
    minQuality: z.number().int().min(0).max(100).default(50),
    /** Also match rotated and mirrored frames (8 hashes per frame); costs 8 look-ups. */
    dihedral: z.boolean().default(false),
    /**
     * Known-video (vpdq) lists: a stream matches a known video when, over its last `windowMs` of
     * sampled frames, the share of the video's distinct frames matched reaches `matchShare` and
     * the share of the stream's frames that matched reaches `queryShare` (vPDQ's P_c and P_q),
     * or when `minMatchedSeconds` of the video's timeline matched without a gap (a live stream
     * may show only part of a video). Each list can set its own shares and seconds.
     */
    video: z
      .strictObject({
        /** 10 minutes: a known video shown live is seen whole within that, or its run of content suffices. */
        windowMs: positiveMs(600_000),
        /** vPDQ's reference P_c. */
        matchShare: z.number().min(0).max(1).default(0.8),
        /** vPDQ's reference P_q: extra content in the stream does not prevent a match. */
        queryShare: z.number().min(0).max(1).default(0),
        /**
         * 30 s of a known video's timeline matched in order (30 frames at the default 1 fps, each
         * within PDQ distance): far beyond chance, and short enough to catch an excerpt.
         */
        minMatchedSeconds: z.number().positive().default(30),
      })
      .prefault({}),
    /**
     * Flood quarantine: a list entry that matches on more than `maxStreams` distinct streams
     * within `windowMs` stops acting (its matches keep being counted and logged) and is reported
     * on screening.quarantine, so one bad hash (a false positive on a common image) cannot kill
     * thousands of streams. Shared across workers in a JetStream KV bucket; released with
     * `streamscreen hashlist release`.
     */
    quarantine: z
      .strictObject({
        enabled: z.boolean().default(true),
        /**
         * 10 distinct streams in 10 minutes: far above how often confirmed material recurs on a
         * platform's live streams, far below the damage of a false entry on a common image.
         */
        maxStreams: z.number().int().min(1).default(10),
        windowMs: positiveMs(600_000),
        bucket: jetStreamName('screening-quarantine'),
      })
      .prefault({}),
    /**
     * Lists distributed through a JetStream Object Store (`streamscreen hashlist publish`).
     * Every worker watches the bucket and swaps a new version in within seconds.
     */
    objectStore: z
      .strictObject({
        enabled: z.boolean().default(true),
        bucket: z
          .string()
          .regex(/^[A-Za-z0-9_-]+$/)
          .default('screening-hashlists'),
        /** Only these list ids from the bucket; every list when absent. */
        lists: z.array(z.string()).optional(),
        /** Re-list the bucket this often, in case a watch update was missed while disconnected; 0 turns it off. */
        resyncIntervalMs: ms(60_000),
        /** First retry delay after a download that failed for a transient reason; doubles up to a minute. */
        retryDelayMs: positiveMs(2_000),
      })
      .prefault({}),
  })
  .superRefine((o, ctx) => {
    const seen = new Set<string>();
    for (const [i, list] of o.lists.entries()) {
      if (seen.has(list.id)) ctx.addIssue({ code: 'custom', path: ['lists', i, 'id'], message: `duplicate list id '${list.id}'` });
      seen.add(list.id);
    }
  });

export type HashSection = z.output<typeof HashSection>;

/** The video-match rule and the window it is applied over (known-video lists). */
export interface VideoMatchOptions {
  readonly windowMs: number;
  readonly matchShare: number;
  readonly queryShare: number;
  readonly minMatchedSeconds: number;
}

/** What the matcher takes. */
export interface HashMatcherOptions {
  readonly maxDistance: number;
  readonly minQuality: number;
  /** Defaults for known-video lists (each list may set its own shares and seconds). */
  readonly video: VideoMatchOptions;
}

/** What the Object Store list sync takes: the section, and the replicas of the bucket it creates when none exists yet. */
export type HashListSyncOptions = Omit<HashSection['objectStore'], 'enabled'> & {
  /** nats.replicas: a list bucket on one server would lose every list with that server. */
  readonly replicas: number;
};

/** What the flood quarantine takes. */
export interface QuarantineOptions {
  readonly maxStreams: number;
  readonly windowMs: number;
}

export function quarantineOptions(section: HashSection): QuarantineOptions {
  return { maxStreams: section.quarantine.maxStreams, windowMs: section.quarantine.windowMs };
}

export function matcherOptions(section: HashSection): HashMatcherOptions {
  return { maxDistance: section.maxDistance, minQuality: section.minQuality, video: section.video };
}

export function hashListSyncOptions(section: HashSection, replicas = 1): HashListSyncOptions {
  const { enabled: _enabled, ...sync } = section.objectStore;
  return { ...sync, replicas };
}
