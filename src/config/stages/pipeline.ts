import { z } from 'zod';
import { positiveMs } from '../fields.js';

/** Per-frame screening (config section `pipeline`). */
export const PipelineSection = z.strictObject({
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
});

export type PipelineSection = z.output<typeof PipelineSection>;

/** What the stream screener takes. */
export interface ScreenerOptions extends PipelineSection {
  /** Match rotated and mirrored frames too (hash.dihedral). */
  readonly dihedral: boolean;
}

export function screenerOptions(section: PipelineSection, dihedral: boolean): ScreenerOptions {
  return { ...section, dihedral };
}
