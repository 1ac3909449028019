import { z } from 'zod';
import { defaultManifestPath } from '../package-root.js';

/** The classifiers (config section `classify`). */
export const ClassifySection = z.strictObject({
  /** Off: hash matching only (no nudity or face/age signals). */
  enabled: z.boolean().default(true),
  /** models/manifest.json of the installed package when absent. */
  manifestPath: z.string().min(1).optional(),
  /**
   * Threads per inference. 1: a worker screens several streams, so models run side by side,
   * leaving cores for ffmpeg and PDQ (npm run bench:classify measures 1 vs 2 threads).
   */
  intraOpThreads: z.number().int().min(1).max(64).default(1),
  /** Frames from different streams that queued while a model was busy run as one batch. */
  maxBatch: z.number().int().min(1).max(64).default(4),
  /** Busy-wait ORT worker threads; off, because spinning steals cores from the samplers. */
  spinning: z.boolean().default(false),
  /** The nudity model (manifest entry of kind `nudity`). */
  nudity: z.boolean().default(true),
  /** Face detection and apparent age; needs the face models in the manifest. */
  faces: z.boolean().default(true),
  /**
   * The cascade: the face/age model runs only on frames whose explicit score (nudity porn +
   * hentai) reaches this, or on which a drop-in signal reaches its policy.customEscalateAt: the
   * policy reads apparent ages nowhere else, so no decision changes, and benign frames (nearly
   * all) skip it. Absent: policy.nudityWithMinorEscalateAt, the bar the policy uses with a
   * possible minor; above it is refused (escalations would be missed); 0 runs faces on every frame.
   */
  facesNudityFloor: z.number().min(0).max(1).optional(),
  /** Drop-in classifiers declared in the manifest (kind `custom`). */
  custom: z.boolean().default(true),
  /** Run every session once before reporting ready, so the first real frame does not pay for it. */
  warmUp: z.boolean().default(true),
});

export type ClassifySection = z.output<typeof ClassifySection>;

/** What the composite classifier takes; whether it runs at all and the face part are the assembly's call. */
export interface ClassifierOptions {
  readonly manifestPath: string;
  readonly intraOpThreads: number;
  readonly maxBatch: number;
  readonly spinning: boolean;
  readonly nudity: boolean;
  readonly custom: boolean;
  readonly warmUp: boolean;
}

export function classifierOptions(section: ClassifySection): ClassifierOptions {
  const { enabled: _enabled, faces: _faces, facesNudityFloor: _floor, manifestPath, ...rest } = section;
  return { ...rest, manifestPath: manifestPath ?? defaultManifestPath() };
}
