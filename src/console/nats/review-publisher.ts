import type { JetStreamClient } from '@nats-io/jetstream';
import { AuditRecordSchema, ReviewDecisionSchema, subjectFor, type AuditRecord, type ReviewDecision } from '../../contracts/index.js';
import { PublishError } from '../../domain/errors.js';
import { backoffDelay, sleep } from '../../domain/retry.js';
import type { ReviewPublisher } from '../ports.js';

export interface ReviewSubjects {
  readonly reviewDecision: string;
  readonly audit: string;
}

/**
 * A reviewer is waiting on the click, so publishing retries briefly (about 5 s in all) and then
 * reports the failure to the page instead of hanging; Nats-Msg-Id makes a retry after a lost ack
 * store the decision once. To be replaced by the shared src/nats/ publishDurable.
 */
const ATTEMPTS = 6;
const PUBLISH_TIMEOUT_MS = 2_000;

export function createReviewPublisher(js: JetStreamClient, subjects: ReviewSubjects): ReviewPublisher {
  const publish = async (subject: string, payload: unknown, msgID: string): Promise<void> => {
    const data = JSON.stringify(payload);
    let last: unknown;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        await js.publish(subject, data, { msgID, timeout: PUBLISH_TIMEOUT_MS });
        return;
      } catch (err) {
        last = err;
        if (attempt < ATTEMPTS) await sleep(backoffDelay(attempt, 100, 1_000));
      }
    }
    throw new PublishError(`publish to ${subject} not acknowledged after ${ATTEMPTS} attempts`, { cause: last });
  };
  return {
    publishDecision: (d: ReviewDecision) =>
      // Validated here too: a console bug must not put a decision on the wire that the worker refuses.
      publish(subjectFor(subjects.reviewDecision, d.streamId), ReviewDecisionSchema.parse(d), d.decisionId),
    publishAudit: (r: AuditRecord) => publish(subjects.audit, AuditRecordSchema.parse(r), r.eventId),
  };
}
