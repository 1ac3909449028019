import { z } from 'zod';
import { ms, positiveMs } from '../fields.js';

export const HashListConfigSchema = z.strictObject({
  /** Stable id, reported in every match and used as the object name when distributed over NATS. */
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'list id: 1-64 of A-Z a-z 0-9 _ -'),
  path: z.string().min(1),
  /** `kill` for confirmed abuse material lists; `escalate` for lower-confidence or non-CSAM lists. */
  action: z.enum(['kill', 'escalate']).default('kill'),
  label: z.string().optional(),
  source: z.string().optional(),
  enabled: z.boolean().default(true),
  /** Detected from the file name and first line when absent. */
  format: z.enum(['text', 'csv']).optional(),
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

/** What the matcher takes. */
export interface HashMatcherOptions {
  readonly maxDistance: number;
  readonly minQuality: number;
}

/** What the Object Store list sync takes. */
export type HashListSyncOptions = Omit<HashSection['objectStore'], 'enabled'>;

export function matcherOptions(section: HashSection): HashMatcherOptions {
  return { maxDistance: section.maxDistance, minQuality: section.minQuality };
}

export function hashListSyncOptions(section: HashSection): HashListSyncOptions {
  const { enabled: _enabled, ...sync } = section.objectStore;
  return sync;
}
