import type { FrameRef, HashMatch, KillSwitchReason } from '../../contracts/index.js';
import type { CaseChange, CaseRecord, StreamCases } from '../../domain/cases.js';
import { EMPTY_STREAM_CASES } from '../../domain/cases.js';
import type { FrameSignals } from '../../domain/signals.js';

/** Everything the policy may look at for one frame. */
export interface FrameAnalysis {
  /** Milliseconds on the same clock as `now` given to decide(). */
  readonly capturedAt: number;
  readonly seq: number;
  readonly matches: readonly HashMatch[];
  /** Absent: the frame was not classified (hash stage only, or classifiers skipped). */
  readonly signals?: FrameSignals;
  /** The frame as events name it; called only when an event is built (hex and ISO formatting are not free per frame). */
  readonly ref: () => FrameRef;
}

/** The stream the policy decides for: what goes into ids and events. */
export interface PolicyContext {
  readonly streamId: string;
  /** One per lease acquisition: part of every id, so a new holder's events never dedupe against the old one's. */
  readonly runId: string;
  readonly workerId: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/**
 * The cooldowns kept across handovers in the policy-state bucket (publish.policyStateBucket),
 * beside the cases: a new holder honours a kill-switch cooldown its predecessor started.
 * `lastEscalationAt` is what workers before cases kept (escalations are cases now); it is read
 * and written as it is, so both versions share the bucket during an upgrade.
 */
export interface CooldownState {
  readonly lastKillSwitchAt?: number;
  readonly lastEscalationAt: Readonly<Partial<Record<'normal' | 'high' | 'critical', number>>>;
}

/** Per-stream memory: cases, suppressions and decisions (kept in KV) plus the short-lived part. */
export interface PolicyState extends StreamCases {
  readonly lastKillSwitchAt?: number;
  /** Per classifier reason class, the levels of the last n classified frames (oldest first; LEVEL in smoothing.ts). */
  readonly windows: Readonly<Record<string, readonly number[]>>;
  /** Consecutive frames the classifiers did not see (shed, failed, not ready). */
  readonly unclassified: number;
}

export const INITIAL_POLICY_STATE: PolicyState = { ...EMPTY_STREAM_CASES, windows: {}, unclassified: 0 };

/** Stop the stream. Published before anything else the same step decided. */
export interface KillSwitchEffect {
  readonly kind: 'killswitch';
  readonly eventId: string;
  readonly reason: KillSwitchReason;
  readonly rule: string;
  readonly caseId: string;
  readonly shadow: boolean;
  readonly match?: HashMatch;
  readonly frame?: FrameRef;
  readonly review?: { readonly decisionId: string; readonly reviewer: string };
  readonly unscreened?: { readonly code: string; readonly message: string };
}

/** A case event to publish, carrying the whole case as it is now. */
export interface CaseEffect {
  readonly kind: 'case';
  readonly type: 'case_opened' | 'case_updated' | 'case_closed';
  readonly record: CaseRecord;
  /** case_updated: what changed. */
  readonly change?: readonly CaseChange[];
  /** Opened, or its priority rose: reviewers are paged. */
  readonly page: boolean;
  /** Capture evidence around the current frame for this case; `preserveOriginal` for kill-switches and hash matches. */
  readonly evidence?: { readonly preserveOriginal: boolean };
}

export type Effect = KillSwitchEffect | CaseEffect;

export interface PolicyResult {
  readonly state: PolicyState;
  /** In publishing order: kill-switches first. */
  readonly effects: readonly Effect[];
}
