import { z } from 'zod';

/**
 * The one place where configuration defaults live. Every value can be overridden from the
 * config file (config/streamscreen.json or STREAMSCREEN_CONFIG); a few from the environment
 * (see env.ts). config/streamscreen.example.json is checked against these defaults by a test.
 */

const ms = (def: number) => z.number().int().nonnegative().default(def);
const positiveMs = (def: number) => z.number().int().positive().default(def);

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
  /** Detected from the file name and first line when absent. */
  format: z.enum(['text', 'csv']).optional(),
});

export const ConfigSchema = z.strictObject({
  nats: z
    .strictObject({
      url: z.string().min(1).default('nats://127.0.0.1:4222'),
      /** Connection name shown in the server's monitoring; the worker id is appended. */
      name: z.string().default('streamscreen'),
    })
    .prefault({}),

  worker: z
    .strictObject({
      /** Defaults to `<hostname>-<pid>` so two workers on one host never share a lease identity. */
      id: z.string().min(1).optional(),
      /** Streams one worker screens at once; each costs one ffmpeg decode plus hashing/inference. */
      maxStreams: z.number().int().positive().default(4),
      /**
       * Stage one of shutdown: how long held streams may finish on their own before they are handed
       * back to other workers. 0, because live streams do not finish on their own and every second
       * of waiting is screened by a worker that is leaving; decisions already being published still
       * go out (ingest's abort grace).
       */
      shutdownGraceMs: ms(0),
    })
    .prefault({}),

  ingest: z
    .strictObject({
      /**
       * A dead worker's stream is redelivered after ack_wait; the lease TTL lets the new worker
       * take the lease over. Both well under 10 s so takeover fits the 10 s promise.
       */
      ackWaitMs: positiveMs(4_000),
      leaseTtlMs: positiveMs(6_000),
    })
    .prefault({}),

  sampler: z
    .strictObject({
      fps: z.number().positive().max(30).default(1),
      /** PDQ reduces every frame to 512x512 anyway, so ffmpeg scales to that size once. */
      width: z.number().int().min(16).max(4096).default(512),
      height: z.number().int().min(16).max(4096).default(512),
      /**
       * `shrink`: only sources larger than width x height are scaled (to exactly that size, as the
       * PDQ reference reduces); smaller ones keep their size, because upscaling moves their hash
       * (median 10 bits vs 0 on the benign test images). `exact`: every frame scaled to that size.
       */
      scaleMode: z.enum(['shrink', 'exact']).default('shrink'),
      /** `file:` and bare paths are for local testing only. */
      allowFiles: z.boolean().default(false),
      rwTimeoutMs: positiveMs(5_000),
      stallTimeoutMs: positiveMs(10_000),
      maxRestarts: z.number().int().nonnegative().default(5),
      backoffBaseMs: positiveMs(500),
      backoffMaxMs: positiveMs(15_000),
    })
    .prefault({}),

  hash: z
    .strictObject({
      lists: z.array(HashListConfigSchema).default([]),
      /** PDQ's published recommendation: distance <= 31 of 256 bits is a match. */
      maxDistance: z.number().int().min(0).max(128).default(31),
      /** PDQ's published guidance: hashes of quality < 50 (flat, featureless frames) are unreliable. */
      minQuality: z.number().int().min(0).max(100).default(50),
      /** Also match rotated and mirrored frames (8 hashes per frame); costs 8 look-ups. */
      dihedral: z.boolean().default(false),
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
          bucket: z
            .string()
            .regex(/^[A-Za-z0-9_-]+$/)
            .default('screening-quarantine'),
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
          /** Re-list the bucket this often, in case a watch update was missed while disconnected. */
          resyncIntervalMs: ms(60_000),
        })
        .prefault({}),
    })
    .prefault({}),

  classify: z
    .strictObject({
      /** Off: hash matching only (no nudity or face/age signals). */
      enabled: z.boolean().default(true),
      /** models/manifest.json of the installed package when absent. */
      manifestPath: z.string().optional(),
      /**
       * Threads per inference. 1: a worker screens several streams, so models run side by side,
       * leaving cores for ffmpeg and PDQ (npm run bench:classify measures 1 vs 2 threads).
       */
      intraOpThreads: z.number().int().min(1).max(64).default(1),
      /** Frames from different streams that queued while a model was busy run as one batch. */
      maxBatch: z.number().int().min(1).max(64).default(4),
      /** Face detection and apparent age; needs the face models in the manifest. */
      faces: z.boolean().default(true),
      /** Drop-in classifiers declared in the manifest (kind `custom`). */
      custom: z.boolean().default(true),
    })
    .prefault({}),

  pipeline: z
    .strictObject({
      /**
       * Capture-to-decision budget per frame. At the default 1 fps a frame must be decided well
       * before the next arrives; a frame already older than this skips the classifiers (the hash
       * check, the kill path, always runs) and the skip is counted in streamscreen_frames_shed_total.
       */
      frameBudgetMs: positiveMs(500),
      /**
       * Consecutive frames on which the classifiers fail before a screening failure is reported
       * for the stream (hash screening goes on). Above 1 so one bad frame does not page anyone.
       */
      classifierFailuresToReport: z.number().int().positive().default(5),
    })
    .prefault({}),

  publish: z
    .strictObject({
      /**
       * First retry delay for an unacknowledged publish; doubles up to the maximum, until acked
       * (errors that can never succeed end the retries). Short: a kill-switch is waiting.
       */
      retryBaseMs: positiveMs(100),
      retryMaxMs: positiveMs(5_000),
    })
    .prefault({}),

  policy: z
    .strictObject({
      /** `shadow` publishes decisions to shadow subjects only: a new policy is evaluated before it acts. */
      mode: z.enum(['enforce', 'shadow']).default('enforce'),
      /** A stream gets one kill-switch per cooldown; repeats add nothing while the platform acts. */
      killSwitchCooldownMs: ms(60_000),
      /** Reviewers get one escalation per stream and priority per cooldown, sooner if priority rises. */
      escalationCooldownMs: ms(30_000),
      /**
       * porn + hentai probability that escalates on the nudity classifier alone. High, because the
       * model (~90% accurate upstream) fires on benign skin and reviewers' time is the scarce resource.
       */
      nudityEscalateAt: z.number().min(0).max(1).default(0.9),
      /** With a possible minor in the frame, a false negative costs far more than a review. */
      nudityWithMinorEscalateAt: z.number().min(0).max(1).default(0.5),
      /**
       * Apparent age under which a face counts as a possible minor. 25, as age-assurance vendors
       * use: their published figure is that 99.9% of 13-17-year-olds are estimated under 25.
       */
      challengeAge: z.number().min(1).max(100).default(25),
      /** Drop-in classifier signals that escalate on their own, e.g. { "vendor_csam": 0.7 }. */
      customEscalateAt: z.record(z.string(), z.number().min(0).max(1)).default({}),
    })
    .prefault({}),

  metrics: z
    .strictObject({
      enabled: z.boolean().default(true),
      host: z.string().default('0.0.0.0'),
      port: z.number().int().min(0).max(65535).default(9464),
    })
    .prefault({}),

  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;
export type HashListConfig = z.infer<typeof HashListConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
