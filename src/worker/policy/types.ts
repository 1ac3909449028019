import type { EscalationPriority, EscalationReason, HashMatch } from '../../contracts/index.js';
import type { FrameSignals } from '../../domain/signals.js';

/** Everything the policy may look at for one frame. */
export interface FrameAnalysis {
  /** Milliseconds on the same clock as `now` given to decide(). */
  readonly capturedAt: number;
  readonly seq: number;
  readonly matches: readonly HashMatch[];
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

export interface PolicyOptions {
  /** `shadow`: decide and publish to shadow subjects only, to evaluate a policy change safely. */
  readonly mode: 'enforce' | 'shadow';
  readonly killSwitchCooldownMs: number;
  readonly escalationCooldownMs: number;
  /**
   * Explicit-content score (porn + hentai) at which a frame is escalated on the classifier
   * alone. The nudity model is ~90% accurate upstream and fires on benign skin, so it escalates,
   * never kills.
   */
  readonly nudityEscalateAt: number;
  /** Lower bar that applies when a possible minor is in the same frame: missing that costs far more. */
  readonly nudityWithMinorEscalateAt: number;
  /** Challenge age used for the possible-minor signal, carried into the reason for reviewers. */
  readonly challengeAge: number;
  /** Drop-in classifier signals that escalate at a score, e.g. { csam_classifier: 0.7 }. */
  readonly customEscalateAt: Readonly<Record<string, number>>;
}
