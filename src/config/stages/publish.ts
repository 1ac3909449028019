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
    /**
     * KV bucket of per-stream policy state (when the last kill-switch and escalations were
     * issued), so a worker that takes a stream over honours the cooldown its previous holder
     * started. Entries expire a while after the longest cooldown (see publisherOptions).
     */
    policyStateBucket: jetStreamName('screening-policy-state'),
    deadLetterSubject: natsSubject(SUBJECTS.deadLetter),
    /**
     * JetStream dedupe window for `Nats-Msg-Id`, and so the longest NATS outage after which a
     * decision replayed from the outbox is still stored exactly once (past it, one whose first
     * attempt was stored but not acked could be stored twice; it is never dropped, and consumers
     * dedupe by event id). An hour; the outbox age alert fires at half of it.
     */
    duplicateWindowMs: positiveMs(60 * 60 * 1000),
    /** Retention: decisions 7 days, dead letters 14 days. */
    decisionsMaxAgeMs: positiveMs(7 * DAY_MS),
    deadLetterMaxAgeMs: positiveMs(14 * DAY_MS),
    /**
     * How long one attempt waits for the PubAck. 2 s: a healthy server acks in milliseconds, and
     * an attempt sent into a leader election or a dying node is better given up and sent again
     * (the dedupe window makes that harmless) than waited on while a kill-switch waits behind it.
     */
    publishTimeoutMs: positiveMs(2_000),
    /**
     * First retry delay for an unacknowledged publish; doubles up to the maximum, each delay drawn
     * from [d/2, d] (domain/retry.ts), until acked (errors that can never succeed end the retries).
     * Short: a kill-switch is waiting. At most 2 s between attempts: with 5 s (and 5 s attempts), a
     * decision made during a JetStream leader election was stored up to 10 s later; a NATS
     * reconnect wakes the outbox at once anyway.
     */
    retryBaseMs: positiveMs(100),
    retryMaxMs: positiveMs(2_000),
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

/** What the publisher takes: the section, the replicas of what it provisions, and the policy state's lifetime. */
export interface PublisherOptions extends Readonly<z.output<typeof PublishSection>> {
  /** nats.replicas. */
  readonly replicas: number;
  /** TTL of the policy state bucket: twice the longest cooldown, at least a minute (older state suppresses nothing). */
  readonly policyStateTtlMs: number;
}

export function publisherOptions(
  section: z.output<typeof PublishSection>,
  replicas = 1,
  // The kill-switch cooldown is the one kept across handovers since escalations became cases (issue 10).
  cooldowns: { readonly killSwitchCooldownMs: number; readonly escalationCooldownMs?: number } = { killSwitchCooldownMs: 0 },
): PublisherOptions {
  const longest = Math.max(cooldowns.killSwitchCooldownMs, cooldowns.escalationCooldownMs ?? 0);
  return { ...section, replicas, policyStateTtlMs: Math.max(60_000, 2 * longest) };
}
