import { z } from 'zod';
import { positiveMs } from '../fields.js';

/**
 * The worker's one inference scheduler, shared by all its streams (src/worker/schedule/). Batch
 * and concurrency defaults come from `npm run bench:sched` (real models, same run, medians).
 */
export const InferenceSection = z.strictObject({
  /**
   * Frames (of different streams, nearest deadline first) handed to the classifiers together.
   * 1: batching does not pay on this CPU class. `npm run bench:sched` (default models, bursts of
   * 16 streams' frames, medians, 2-core machine shared with other work): per-frame cost 1.00x of
   * batch 1 at batch 2 and 0.90x (slower) at batch 4, while every frame of a batch waits for
   * the slowest. Raise it where bench:sched shows a gain (more cores per session, a GPU).
   */
  maxBatch: z.number().int().min(1).max(64).default(1),
  /**
   * Batches in flight at once. 1: bench:sched measured 1.02x at 2 (noise) on 2 cores, and one
   * inference at a time leaves the other core to ffmpeg and PDQ hashing, which every stream
   * needs before any classifier.
   */
  concurrency: z.number().int().min(1).max(16).default(1),
  /** Classified frames per stream whose highest risk score decides whether the stream is low-risk under degradation. */
  riskWindow: z.number().int().min(1).max(64).default(5),
  /**
   * Under degradation (classifiers off for the lowest-risk streams) a stream whose recent risk
   * score (porn + hentai, or any drop-in signal) reached this is never degraded. Unset: half the
   * lowest escalation bar (policy.nudityWithMinorEscalateAt, 0.25 at its default 0.5), so a
   * stream on its way towards a page keeps its classifiers while benign scenes, which score far
   * below it, can lose theirs; derived rather than fixed so that lowering the bar lowers it too.
   */
  degradeRiskFloor: z.number().min(0).max(1).optional(),
  /**
   * A stream whose classifiers are off under degradation still has one frame classified this
   * often, so its risk stays current: a low-risk stream that turns explicit ranks out of the
   * lower half within about this long plus the policy's smoothing, instead of staying
   * unclassified for as long as the overload lasts. 10 s keeps most of the saving (one frame in
   * 5 at a 2 s GOP, one in 10 at 1 fps).
   */
  degradedProbeMs: z.number().int().min(1000).max(300_000).default(10_000),
});

export type InferenceSection = z.output<typeof InferenceSection>;

/** Per-frame screening (config section `pipeline`). */
export const PipelineSection = z.strictObject({
  /**
   * Capture-to-decision budget per frame. At the default 1 fps a frame must be decided well
   * before the next arrives; a frame already older than this when the inference scheduler would
   * start it skips the classifiers (the hash check, the kill path, always runs) and the skip is
   * counted in streamscreen_frames_shed_total.
   */
  frameBudgetMs: positiveMs(500),
  /**
   * Consecutive frames on which the classifiers fail before a screening failure is reported
   * for the stream (hash screening goes on). Above 1 so one bad frame does not page anyone.
   */
  classifierFailuresToReport: z.number().int().positive().default(5),
  /**
   * true: every sampled frame is classified, in order, and a stream's next frame waits for its
   * previous frame's classification: offline evaluation of files read faster than real time
   * (`npm run eval:benign`). false (live screening): the hash check of a frame never waits
   * behind inference, and a newer frame replaces one still waiting for the classifiers
   * (latest-frame-wins, counted as shed `superseded`).
   */
  classifyEveryFrame: z.boolean().default(false),
  inference: InferenceSection.prefault({}),
});

export type PipelineSection = z.output<typeof PipelineSection>;

/** What the stream screener takes. */
export interface ScreenerOptions extends PipelineSection {
  /** Match rotated and mirrored frames too (hash.dihedral). */
  readonly dihedral: boolean;
  readonly inference: ResolvedInference;
}

export interface ResolvedInference extends InferenceSection {
  readonly degradeRiskFloor: number;
}

/** `escalateAt`: policy.nudityWithMinorEscalateAt, the lowest escalation bar (degradeRiskFloor's default is half of it). */
export function screenerOptions(section: PipelineSection, dihedral: boolean, escalateAt: number): ScreenerOptions {
  const inference = { ...section.inference, degradeRiskFloor: section.inference.degradeRiskFloor ?? escalateAt / 2 };
  return { ...section, inference, dihedral };
}
