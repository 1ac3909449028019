import { z } from 'zod';
import { SUBJECTS } from '../../contracts/index.js';
import { jetStreamName, natsSubject, positiveMs } from '../fields.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Escalation cases and review decisions (config section `review`): where the worker publishes
 * case events, keeps the case state that must survive a handover, and takes reviewers'
 * decisions from. Stream names and retention are shared with the console (contracts/streams.ts).
 */
export const ReviewSection = z.strictObject({
  /** Case events: `<prefix>.<streamId>`. */
  caseOpenedSubjectPrefix: natsSubject(SUBJECTS.caseOpened),
  caseUpdatedSubjectPrefix: natsSubject(SUBJECTS.caseUpdated),
  caseClosedSubjectPrefix: natsSubject(SUBJECTS.caseClosed),
  /** Decisions in, acks out: `<prefix>.<streamId>`. */
  decisionSubjectPrefix: natsSubject(SUBJECTS.reviewDecision),
  ackSubjectPrefix: natsSubject(SUBJECTS.reviewAck),
  auditSubject: natsSubject(SUBJECTS.audit),
  /**
   * KV bucket of per-stream case state (open cases, suppressions, decisions applied): what a worker
   * taking a stream over, or applying a decision for an ended stream, needs. Its own bucket, apart
   * from leases and the kill-switch cooldown.
   */
  casesBucket: jetStreamName('screening-cases'),
  /** Entries outlive the cases stream's 7 days, so a late decision still finds its case. */
  casesTtlMs: positiveMs(8 * DAY_MS),
  /** Durable consumer every worker shares for review decisions. */
  decisionsConsumer: jetStreamName('screening-review-appliers'),
  /**
   * A decision for a stream another worker holds goes back with this delay, for the holder to
   * take (each worker applies only what it holds). Short: a reviewer is waiting for the ack.
   */
  heldElsewhereRetryMs: positiveMs(300),
  /** How long a held decision may wait for the holder's ack before it is redelivered. */
  decisionAckWaitMs: positiveMs(30_000),
  /** A list lock (add-to-list) older than this was left by a worker that died: taken over. */
  listLockStaleMs: positiveMs(30_000),
  /** Create or update the shared streams, the consumer and the bucket at start. */
  provision: z.boolean().default(true),
});

export type ReviewOptions = Readonly<z.output<typeof ReviewSection>>;
