import type { JetStreamClient } from '@nats-io/jetstream';
import { AuditRecordSchema, ReviewDecisionSchema, subjectFor, type AuditRecord, type ReviewDecision } from '../../contracts/index.js';
import { PublishError } from '../../domain/errors.js';
import type { Logger } from '../../domain/logger.js';
import { createDurablePublisher } from '../../nats/index.js';
import type { ReviewPublisher } from '../ports.js';

export interface ReviewSubjects {
  readonly reviewDecision: string;
  readonly audit: string;
}

/**
 * A reviewer is waiting on the click: the kit's durable publisher retries (Nats-Msg-Id makes a
 * retry after a lost ack store the decision once), but only this long before the page is told
 * that nothing was recorded, rather than a spinner that never ends.
 */
const GIVE_UP_AFTER_MS = 6_000;

export function createReviewPublisher(js: JetStreamClient, subjects: ReviewSubjects, logger: Logger): ReviewPublisher {
  const publisher = createDurablePublisher({
    js,
    logger,
    settings: { timeoutMs: 2_000, retryInitialDelayMs: 100, retryMaxDelayMs: 1_000 },
  });
  const publish = async (subject: string, type: string, id: string, payload: unknown): Promise<void> => {
    try {
      await publisher.publishRaw(subject, type, id, JSON.stringify(payload), { signal: AbortSignal.timeout(GIVE_UP_AFTER_MS) });
    } catch (err) {
      if (err instanceof PublishError) throw err;
      throw new PublishError(`${type} ${id} not acknowledged by JetStream within ${GIVE_UP_AFTER_MS} ms`, { cause: err });
    }
  };
  return {
    // Validated here too: a console bug must not put a decision on the wire that the worker refuses.
    publishDecision: (d: ReviewDecision) =>
      publish(subjectFor(subjects.reviewDecision, d.streamId), d.type, d.decisionId, ReviewDecisionSchema.parse(d)),
    publishAudit: (r: AuditRecord) => publish(subjects.audit, r.type, r.eventId, AuditRecordSchema.parse(r)),
  };
}
