/**
 * What the browser receives for one case: the console's own JSON (over SSE and /api/cases), not
 * a wire contract between deployables. The front end imports these types only.
 */
export type Priority = 'critical' | 'high' | 'normal';
export type Rendition = 'blurred' | 'reviewer' | 'original';
export type DecisionKind = 'confirm' | 'dismiss' | 'escalate' | 'add-to-list';

export interface ScorePoint {
  readonly seq: number;
  readonly at: string;
  readonly score: number;
}

export interface CardReason {
  readonly kind: 'hash_match' | 'classifier' | 'possible_minor' | 'unscreened';
  /** One line a reviewer reads, e.g. "nudity 0.93 (peak 0.95, threshold 0.50)". */
  readonly label: string;
  readonly score?: number;
  readonly history?: readonly ScorePoint[];
}

export interface CardFrame {
  readonly seq: number;
  readonly capturedAt: string;
  readonly decisive: boolean;
  readonly renditions: readonly Rendition[];
}

export interface CardClaim {
  readonly reviewer: string;
  readonly reviewerName: string;
  readonly expiresAt: string;
}

export interface CardAck {
  readonly result: 'applied' | 'duplicate' | 'rejected';
  readonly detail?: string;
  readonly state: 'open' | 'closed' | 'unknown';
  readonly priority?: Priority;
  readonly suppressedUntil?: string;
  readonly killSwitchEventId?: string;
  readonly at: string;
}

export interface CardDecision {
  readonly decisionId: string;
  readonly decision: DecisionKind;
  readonly reviewer: string;
  readonly at: string;
  readonly note?: string;
  readonly ack?: CardAck;
}

export interface Card {
  readonly caseId: string;
  readonly streamId: string;
  readonly revision: number;
  readonly state: 'open' | 'closed';
  readonly priority: Priority;
  readonly reasonClass: string;
  readonly reasons: readonly CardReason[];
  readonly policy: { readonly version: string; readonly rule: string };
  readonly openedAt: string;
  readonly updatedAt: string;
  readonly deadlineAt: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly frames: readonly CardFrame[];
  readonly killSwitch?: { readonly eventId: string; readonly at: string; readonly reason: string };
  readonly closure?: { readonly cause: string; readonly at: string; readonly resolution?: string };
  readonly claim?: CardClaim;
  readonly decisions: readonly CardDecision[];
}

/** The signed-in reviewer's exposure budget for the current shift. */
export interface Exposure {
  readonly used: number;
  readonly budget: number;
  readonly shiftEndsAt: string;
}

/** What the server sends on the event stream. */
export type ServerEvent =
  | { readonly type: 'snapshot'; readonly cards: readonly Card[] }
  | { readonly type: 'card'; readonly card: Card }
  | { readonly type: 'removed'; readonly caseId: string }
  | { readonly type: 'exposure'; readonly exposure: Exposure };
