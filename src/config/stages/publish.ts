import { z } from 'zod';
import { SUBJECTS } from '../../contracts/index.js';
import { jetStreamName, natsSubject, positiveMs } from '../fields.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Outbound subjects, streams and retries (config section `publish`). */
export const PublishSection = z
  .strictObject({
    /** Stream holding kill-switch, escalation and failure events. */
    decisionsStream: jetStreamName('SCREENING_DECISIONS'),
    /** Subject prefixes; the stream id is appended as the last token. */
    killSwitchSubjectPrefix: natsSubject(SUBJECTS.killSwitch),
    escalationSubjectPrefix: natsSubject(SUBJECTS.escalation),
    failureSubjectPrefix: natsSubject(SUBJECTS.failure),
    /** Shadow-mode kill-switches and escalations go to `<prefix>.killswitch.<id>` / `<prefix>.escalation.<id>`. */
    shadowSubjectPrefix: natsSubject(SUBJECTS.shadow),
    deadLetterStream: jetStreamName('SCREENING_DEADLETTER'),
    deadLetterSubject: natsSubject(SUBJECTS.deadLetter),
    /**
     * JetStream dedupe window for `Nats-Msg-Id`. An hour: a retry can follow a long outage, and an
     * id remembered too briefly would let such a retry store the event twice.
     */
    duplicateWindowMs: positiveMs(60 * 60 * 1000),
    /** Retention: decisions 7 days, dead letters 14 days. */
    decisionsMaxAgeMs: positiveMs(7 * DAY_MS),
    deadLetterMaxAgeMs: positiveMs(14 * DAY_MS),
    /** How long one attempt waits for the PubAck. */
    publishTimeoutMs: positiveMs(5_000),
    /**
     * First retry delay for an unacknowledged publish; doubles up to the maximum, each delay drawn
     * from [d/2, d] (domain/retry.ts), until acked (errors that can never succeed end the retries).
     * Short: a kill-switch is waiting.
     */
    retryBaseMs: positiveMs(100),
    retryMaxMs: positiveMs(5_000),
    /** When a publish finds no stream for its subject (deleted by an operator, fresh server), create the outbound streams and go on retrying. */
    provisionOnMissingStream: z.boolean().default(true),
  })
  .superRefine((o, ctx) => {
    if (o.retryMaxMs < o.retryBaseMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['retryMaxMs'],
        message: `retryMaxMs (${o.retryMaxMs}) must be >= retryBaseMs (${o.retryBaseMs})`,
      });
    }
    // JetStream refuses a dedupe window longer than the stream's retention.
    if (o.duplicateWindowMs > Math.min(o.decisionsMaxAgeMs, o.deadLetterMaxAgeMs)) {
      ctx.addIssue({
        code: 'custom',
        path: ['duplicateWindowMs'],
        message: 'duplicateWindowMs must not exceed decisionsMaxAgeMs or deadLetterMaxAgeMs',
      });
    }
  });

/** What the publisher takes: the section as validated. */
export type PublisherOptions = Readonly<z.output<typeof PublishSection>>;
