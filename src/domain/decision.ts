/** A known-hash hit for one frame hash. */
export interface HashMatch {
  /** Id of the list the hash came from. */
  readonly list: string;
  readonly label?: string;
  /** Hamming distance between the frame hash and the list hash (0..256). */
  readonly distance: number;
  /** The list entry's hash, 64 lower-case hex digits. */
  readonly hash: string;
  /** What a hit on this list should cause; lists default to `kill`. */
  readonly action?: 'kill' | 'escalate';
}

export interface FrameRef {
  readonly seq: number;
  readonly pts: number;
  /** ISO-8601 wall-clock time the frame left ffmpeg. */
  readonly capturedAt: string;
  /** The frame's own PDQ hash and quality. */
  readonly hash?: string;
  readonly quality?: number;
}

/** What every decision about a frame carries, kill-switch or escalation. */
export interface FrameDecisionEvent {
  readonly eventId: string;
  readonly streamId: string;
  readonly frame: FrameRef;
  readonly decidedAt: string;
  /** Milliseconds from the frame leaving ffmpeg to the decision. */
  readonly latencyMs: number;
  readonly workerId: string;
  /** True when the policy runs in shadow mode: published to the shadow subject, not acted on. */
  readonly shadow?: boolean;
  /** The platform metadata of the stream-start event, passed through. */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** `screening.killswitch.<streamId>`: stop this stream now. */
export interface KillSwitchEvent extends FrameDecisionEvent {
  readonly type: 'killswitch';
  readonly reason: 'hash_match';
  readonly match: HashMatch;
}

/**
 * `screening.failure.<streamId>`: this stream could not be screened (source unreachable after
 * retries, screening crashed). Reviewers and on-call must see it: an unscreened live stream is
 * itself a risk.
 */
export interface ScreeningFailureEvent {
  readonly type: 'failure';
  readonly eventId: string;
  readonly streamId: string;
  readonly code: string;
  readonly message: string;
  readonly url?: string;
  readonly attempts?: number;
  readonly at: string;
  readonly workerId: string;
}

/** `screening.deadletter`: an inbound message we could not accept, kept with the reason. */
export interface DeadLetterEvent {
  readonly type: 'deadletter';
  readonly eventId: string;
  readonly subject: string;
  readonly reason: string;
  readonly issues: readonly string[];
  /** The original payload, as UTF-8 text when it decodes, else base64. */
  readonly payload: string;
  readonly payloadEncoding: 'utf8' | 'base64';
  readonly receivedAt: string;
  readonly workerId: string;
}

export type EscalationPriority = 'critical' | 'high' | 'normal';

export type EscalationReason =
  | { readonly kind: 'hash_match'; readonly match: HashMatch }
  | { readonly kind: 'classifier'; readonly signal: string; readonly score: number; readonly threshold: number }
  | { readonly kind: 'possible_minor'; readonly minAge?: number; readonly challengeAge: number };

/** `screening.escalation.<streamId>`: a human must look at this stream. */
export interface EscalationEvent extends FrameDecisionEvent {
  readonly type: 'escalation';
  readonly priority: EscalationPriority;
  readonly reasons: readonly EscalationReason[];
}
