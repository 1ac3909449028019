import type {
  CaseClosure,
  CasePolicy,
  CaseReason,
  EscalationPriority,
  EvidenceFrame,
  FrameRef,
  ReviewAck,
  CaseUpdated,
} from '../contracts/index.js';

/**
 * An escalation case as the worker keeps it: everything a case event carries (contracts/cases.ts)
 * except the per-event fields, plus whether it is open. The policy changes it, the pipeline
 * publishes it, and the case store keeps it in KV so a worker taking the stream over, or one
 * applying a decision for an ended stream, continues from the same case.
 */
export interface CaseRecord {
  readonly caseId: string;
  readonly streamId: string;
  /** "One open case per stream and reason class": hash_match, classifier:<signal>, unscreened. */
  readonly reasonClass: string;
  readonly revision: number;
  readonly state: 'open' | 'closed';
  readonly priority: EscalationPriority;
  readonly reasons: readonly CaseReason[];
  readonly policy: CasePolicy;
  readonly openedAt: string;
  readonly updatedAt: string;
  readonly frame?: FrameRef;
  readonly storyboard: readonly EvidenceFrame[];
  readonly pdqHash?: string;
  readonly killSwitch?: {
    readonly eventId: string;
    readonly at: string;
    readonly reason: 'hash_match' | 'review_confirmed' | 'fail_closed';
  };
  readonly metadata?: Readonly<Record<string, unknown>>;
  readonly workerId: string;
  readonly shadow?: boolean;
  readonly closure?: CaseClosure;
  /** Epoch ms of the last case event published (scores are re-published at most every caseUpdateIntervalMs). */
  readonly publishedAt: number;
}

export type CaseChange = CaseUpdated['change'][number];

/** A dismissal: the reason class stays quiet for the stream until `until`, at or below `priority`. */
export interface Suppression {
  readonly until: number;
  readonly priority: EscalationPriority;
}

/** A decision already applied, so a redelivery is answered, not applied again. */
export interface AppliedDecision {
  readonly result: ReviewAck['result'];
  readonly detail?: string;
  readonly at: number;
  readonly killSwitchEventId?: string;
  readonly listVersion?: string;
}

/**
 * The part of a stream's policy state that outlives the worker holding it: stored in KV per
 * stream (worker/cases/case-store.ts). Smoothing windows and cooldowns are not in it: they are a
 * few seconds of signal, and a handover starts them afresh.
 */
export interface StreamCases {
  /** Open cases and the most recent closed ones (oldest first). */
  readonly cases: readonly CaseRecord[];
  readonly suppressed: Readonly<Record<string, Suppression>>;
  readonly applied: Readonly<Record<string, AppliedDecision>>;
}

export const EMPTY_STREAM_CASES: StreamCases = { cases: [], suppressed: {}, applied: {} };
