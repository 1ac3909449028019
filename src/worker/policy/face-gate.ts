import type { PolicyOptions } from '../../config/index.js';
import type { FrameSignals } from '../../domain/signals.js';

/** What the classifiers know before the face/age model runs. */
export type SignalsBeforeFaces = Pick<FrameSignals, 'nudity' | 'custom'>;

/** The nudity classifier's explicit-content score, as the policy reads it (porn + hentai). */
export function explicitScore(nudity: FrameSignals['nudity']): number {
  return nudity ? (nudity.porn ?? 0) + (nudity.hentai ?? 0) : 0;
}

/**
 * The cascade: whether a frame needs the face/age model at all. The policy reads apparent ages
 * only to make explicit content (score >= nudityWithMinorEscalateAt) or a drop-in signal that
 * escalates on its own (>= its customEscalateAt) more urgent; on any other frame faces cannot
 * change a decision, so the model is skipped. `explicitFloor` is where the face model starts on
 * explicit content: at or below nudityWithMinorEscalateAt (config refuses more) no decision can
 * change; lower runs faces on more frames, e.g. so a shadow policy with a lower bar sees them.
 */
export function faceGate(policy: PolicyOptions, explicitFloor: number): (signals: SignalsBeforeFaces) => boolean {
  const custom = Object.entries(policy.customEscalateAt);
  return (signals) => {
    if (explicitScore(signals.nudity) >= explicitFloor) return true;
    return custom.some(([signal, threshold]) => {
      const score = signals.custom?.[signal];
      return score !== undefined && score >= threshold;
    });
  };
}
