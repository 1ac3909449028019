import type { AuditRecord, CaseEvent, EvidenceRef, ReviewAck, ReviewDecision } from '../contracts/index.js';

/*
 * What the console needs from NATS, as small interfaces: the HTTP layer and the queue depend on
 * these, and src/console/nats/ implements them (to be switched to the shared src/nats/ kit).
 */

export interface ClaimRecord {
  readonly caseId: string;
  readonly reviewer: string;
  readonly reviewerName: string;
  readonly expiresAt: number;
}

export type ClaimOutcome = { readonly ok: true; readonly claim: ClaimRecord } | { readonly ok: false; readonly heldBy: ClaimRecord };

export interface ClaimsRepository {
  /** Exclusive: succeeds when the case is unclaimed, its claim expired, or the reviewer holds it (renewal). */
  claim(caseId: string, reviewer: string, reviewerName: string): Promise<ClaimOutcome>;
  /** Releases the reviewer's own claim; false when they did not hold it. */
  release(caseId: string, reviewer: string): Promise<boolean>;
  /** The unexpired claim as the server has it now (never a cached one). */
  current(caseId: string): Promise<ClaimRecord | undefined>;
  /** Calls back for every claim written or removed (expiry is the caller's timer: KV does not announce it). */
  watch(onChange: (caseId: string, claim: ClaimRecord | undefined) => void): Promise<() => Promise<void>>;
}

export interface ExposureCount {
  readonly used: number;
  /** Extra views granted by a lead this shift. */
  readonly granted: number;
}

export type ExposureOutcome = { readonly ok: true; readonly count: ExposureCount } | { readonly ok: false; readonly count: ExposureCount };

export interface ExposureRepository {
  /** Atomically takes one unblurred view if used < budget + granted. */
  consume(reviewer: string, shift: number, budget: number): Promise<ExposureOutcome>;
  read(reviewer: string, shift: number): Promise<ExposureCount>;
  grant(reviewer: string, shift: number, extra: number): Promise<ExposureCount>;
}

export interface ReviewPublisher {
  /** Durable (JetStream ack) with Nats-Msg-Id = decisionId. */
  publishDecision(decision: ReviewDecision): Promise<void>;
  publishAudit(record: AuditRecord): Promise<void>;
}

export interface AuditReader {
  /** The newest `limit` records, newest first. */
  latest(limit: number): Promise<AuditRecord[]>;
}

/** Reads one evidence object: digest verified, decrypted when encrypted. */
export interface EvidenceReader {
  read(ref: EvidenceRef): Promise<Buffer>;
}

export type FeedItem =
  | { readonly kind: 'case'; readonly event: CaseEvent }
  | { readonly kind: 'decision'; readonly decision: ReviewDecision }
  | { readonly kind: 'ack'; readonly ack: ReviewAck };

export interface CaseFeed {
  /** Replays the stored case events, decisions and acks from the start, then follows live. */
  start(onItem: (item: FeedItem) => void): Promise<void>;
  stop(): Promise<void>;
}
