import type { EscalationPriority, EscalationReason, HashMatch } from '../../contracts/index.js';
import type { FrameSignals } from '../../domain/signals.js';

/** Everything the policy may look at for one frame. */
export interface FrameAnalysis {
  /** Milliseconds on the same clock as `now` given to decide(). */
  readonly capturedAt: number;
  readonly seq: number;
  readonly matches: readonly HashMatch[];
  /**
   * Known videos the stream's recent frames amount to (pipeline/video-window.ts): hash matches
   * carrying `video`, acted on like single-frame matches of their list's action.
   */
  readonly videoMatches?: readonly HashMatch[];
  readonly signals?: FrameSignals;
}

export type Decision =
  | { readonly kind: 'killswitch'; readonly match: HashMatch; readonly shadow: boolean }
  | {
      readonly kind: 'escalation';
      readonly priority: EscalationPriority;
      readonly reasons: readonly EscalationReason[];
      readonly shadow: boolean;
    };

/** Per-stream memory of what was already decided, so a stream is not flooded with repeats. */
export interface PolicyState {
  readonly lastKillSwitchAt?: number;
  /** When each priority was last escalated. */
  readonly lastEscalationAt: Readonly<Partial<Record<EscalationPriority, number>>>;
}

export const INITIAL_POLICY_STATE: PolicyState = { lastEscalationAt: {} };
