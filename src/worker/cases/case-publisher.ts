import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamClient } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { PublisherOptions, ReviewOptions } from '../../config/index.js';
import {
  sharedStreams,
  STREAM_ID_PATTERN,
  subjectFor,
  type AuditRecord,
  type CaseEvent,
  type ReviewAck,
  type ReviewDecision,
} from '../../contracts/index.js';
import { PublishError } from '../../domain/errors.js';
import type { Logger } from '../../domain/logger.js';
import { createDurablePublisher, ensureStream, type PublishCallOptions, type PublishReceipt } from '../../nats/index.js';

export interface CasePublisher {
  /** `screening.escalation.{opened,updated,closed}.<streamId>`. */
  publishCase(event: CaseEvent, opts?: PublishCallOptions): Promise<PublishReceipt>;
  /** The subject a case event goes to (what the worker's outbox records with it). */
  caseSubject(event: CaseEvent): string;
  /** `screening.reviewed.<streamId>`. */
  publishAck(ack: ReviewAck, opts?: PublishCallOptions): Promise<PublishReceipt>;
  /** `screening.audit`. */
  publishAudit(record: AuditRecord, opts?: PublishCallOptions): Promise<PublishReceipt>;
  /** `screening.review.<streamId>`, Nats-Msg-Id = decisionId (`streamscreen review`; the console publishes its own). */
  publishDecision(decision: ReviewDecision, opts?: PublishCallOptions): Promise<PublishReceipt>;
  /** Creates/updates the streams shared with the console (contracts/streams.ts), idempotently. */
  provision(): Promise<void>;
}

/** The streams shared with the console, under this deployment's subject prefixes. */
export function reviewStreams(o: ReviewOptions) {
  return sharedStreams({
    caseOpened: o.caseOpenedSubjectPrefix,
    caseUpdated: o.caseUpdatedSubjectPrefix,
    caseClosed: o.caseClosedSubjectPrefix,
    reviewDecision: o.decisionSubjectPrefix,
    reviewAck: o.ackSubjectPrefix,
    audit: o.auditSubject,
  });
}

/**
 * Case events, review acks and audit records, published like every decision (nats/
 * durable-publisher: Nats-Msg-Id = eventId, retried until acked) into the streams the console
 * reads. Kept apart from publish/ (kill-switches, escalations, failures) so the two change
 * independently.
 */
export function createCasePublisher(deps: {
  readonly js: JetStreamClient;
  readonly logger: Logger;
  readonly options: ReviewOptions;
  readonly publish: PublisherOptions;
}): CasePublisher {
  const o = deps.options;
  const streams = reviewStreams(o);
  const provision = async (): Promise<void> => {
    const jsm = await deps.js.jetstreamManager();
    for (const spec of [streams.cases, streams.review, streams.audit]) {
      await ensureStream(
        jsm,
        {
          name: spec.name,
          subjects: [...spec.subjects],
          retention: RetentionPolicy.Limits,
          storage: StorageType.File,
          discard: DiscardPolicy.Old,
          max_age: nanos(spec.maxAgeMs),
          duplicate_window: nanos(spec.duplicateWindowMs),
        },
        deps.logger,
      );
    }
  };
  const durable = createDurablePublisher({
    js: deps.js,
    logger: deps.logger,
    settings: {
      timeoutMs: deps.publish.publishTimeoutMs,
      retryInitialDelayMs: deps.publish.retryBaseMs,
      retryMaxDelayMs: deps.publish.retryMaxMs,
    },
    ...(deps.publish.provisionOnMissingStream ? { provision } : {}),
  });
  const perStream = (prefix: string, streamId: string): string => {
    if (!STREAM_ID_PATTERN.test(streamId)) {
      throw new PublishError(`refusing to publish for stream id "${streamId}": not a valid subject token`, { retryable: false });
    }
    return subjectFor(prefix, streamId);
  };
  const casePrefix = (e: CaseEvent): string =>
    e.type === 'case_opened'
      ? o.caseOpenedSubjectPrefix
      : e.type === 'case_updated'
        ? o.caseUpdatedSubjectPrefix
        : o.caseClosedSubjectPrefix;
  return {
    provision,
    publishCase: (e, opts) => durable.publish(perStream(casePrefix(e), e.streamId), e, opts),
    caseSubject: (e) => perStream(casePrefix(e), e.streamId),
    publishAck: (a, opts) => durable.publish(perStream(o.ackSubjectPrefix, a.streamId), a, opts),
    publishAudit: (r, opts) => durable.publish(o.auditSubject, r, opts),
    publishDecision: (d, opts) =>
      durable.publishRaw(perStream(o.decisionSubjectPrefix, d.streamId), d.type, d.decisionId, JSON.stringify(d), opts),
  };
}
