import type { FrameSignals } from '../../domain/signals.js';

/** Why a frame's classification was skipped by the scheduler (a `pipeline.shed` reason). */
export type ScheduleShedReason = 'classifiers_over_budget' | 'degraded_low_risk';

/**
 * How one frame's classification ended, as a value: the scheduler's promises never reject.
 * `superseded`: a newer frame of the same stream replaced it while it waited (latest-frame-wins);
 * `cancelled`: its stream ended or the scheduler closed before it ran.
 */
export type InferenceOutcome =
  | { readonly kind: 'classified'; readonly signals: FrameSignals; readonly queuedMs: number; readonly ranMs: number }
  | { readonly kind: 'superseded' }
  | { readonly kind: 'shed'; readonly reason: ScheduleShedReason }
  | { readonly kind: 'failed'; readonly error: unknown; readonly queuedMs: number; readonly ranMs: number }
  | { readonly kind: 'cancelled' };
