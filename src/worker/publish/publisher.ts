import type { JetStreamClient } from '@nats-io/jetstream';
import type { DeadLetterEvent, EscalationEvent, KillSwitchEvent, QuarantineEvent, ScreeningFailureEvent } from '../../contracts/index.js';
import { STREAM_ID_PATTERN, SUBJECTS } from '../../contracts/index.js';
import type { PublisherOptions } from '../../config/index.js';
import { encodeEvent } from '../../domain/encode-event.js';
import { PublishError } from '../../domain/errors.js';
import type { Logger } from '../../domain/logger.js';
import { createDurablePublisher, type PublishCallOptions, type PublishReceipt } from '../../nats/index.js';
import { provisionDecisionStreams } from './provision.js';
import type { Emitter } from '../../domain/hooks.js';
import type { WorkerEvents } from '../events.js';

/** What the outbox carries: every event on the decisions stream. */
export type DecisionEvent = KillSwitchEvent | EscalationEvent | ScreeningFailureEvent | QuarantineEvent;

export interface DecisionPublisher {
  /**
   * `screening.killswitch.<streamId>` (`screening.shadow.killswitch.<streamId>` when
   * `event.shadow`). Resolves once JetStream has stored it (or had it already).
   */
  publishKillSwitch(event: KillSwitchEvent, opts?: PublishCallOptions): Promise<PublishReceipt>;
  /** `screening.escalation.<streamId>` (`screening.shadow.escalation.<streamId>` when `event.shadow`). */
  publishEscalation(event: EscalationEvent, opts?: PublishCallOptions): Promise<PublishReceipt>;
  /** `screening.failure.<streamId>`. */
  publishFailure(event: ScreeningFailureEvent, opts?: PublishCallOptions): Promise<PublishReceipt>;
  /** `screening.deadletter`. */
  publishDeadLetter(event: DeadLetterEvent, opts?: PublishCallOptions): Promise<PublishReceipt>;
  /** `screening.quarantine` (flood quarantine of a list entry, or its release). */
  publishQuarantine(event: QuarantineEvent, opts?: PublishCallOptions): Promise<PublishReceipt>;
  /** The subject a decision goes to (what the outbox records with it). Throws for a stream id that is no subject token. */
  subjectFor(event: DecisionEvent): string;
  /** The bytes sent for an event (its metadata left out when it cannot be serialised: the decision still goes out). */
  encode(event: DecisionEvent): string;
  /** Publishes bytes recorded earlier (the outbox) exactly as recorded, retried until acked. */
  publishRecorded(subject: string, type: string, eventId: string, payload: string, opts?: PublishCallOptions): Promise<PublishReceipt>;
  /** Creates/updates the outbound streams (idempotent). */
  provision(): Promise<void>;
  readonly options: PublisherOptions;
}

export interface DecisionPublisherDeps {
  readonly js: JetStreamClient;
  readonly logger: Logger;
  /** Resolved at load (config/). */
  readonly options: PublisherOptions;
  /** Reports every retried publish (`publish.retry` of WorkerEvents). */
  readonly events?: Emitter<WorkerEvents>;
}

/**
 * Durable, idempotent publishing of screening decisions. Every event is published with
 * `Nats-Msg-Id` = its eventId and retried with backoff until JetStream acks it: a kill-switch
 * must never be dropped, and the dedupe window makes "stored, but the ack was lost" retries
 * harmless. The only ways out without an ack are the caller's AbortSignal (the worker lost the
 * stream and must publish nothing more for it), a closed or draining connection, or an event
 * that can never be published (bad stream id, larger than the server's max_payload or the
 * stream's max_msg_size, any other 4xx refusal: see nats/errors.ts): those reject with a
 * non-retryable PublishError, so the caller can escalate or exit. Timeouts, no responders,
 * connection loss and 503s are retried until acked.
 */
export function createDecisionPublisher(deps: DecisionPublisherDeps): DecisionPublisher {
  const o = deps.options;
  const { js } = deps;
  const logger = deps.logger.child({ component: 'publish' });
  const provision = async (): Promise<void> => provisionDecisionStreams(await js.jetstreamManager(), o, logger);

  const durable = createDurablePublisher({
    js,
    logger: deps.logger,
    settings: { timeoutMs: o.publishTimeoutMs, retryInitialDelayMs: o.retryBaseMs, retryMaxDelayMs: o.retryMaxMs },
    ...(o.provisionOnMissingStream ? { provision } : {}),
    ...(deps.events
      ? { onRetry: ({ type, attempt }: { type: string; attempt: number }) => deps.events?.emit('publish.retry', { type, attempt }) }
      : {}),
  });
  // Serialised here, not by the kit: a decision goes out even when its metadata cannot be (encodeEvent).
  const encode = (event: KillSwitchEvent | EscalationEvent | ScreeningFailureEvent | DeadLetterEvent | QuarantineEvent): string => {
    const { payload, metadataOmitted } = encodeEvent(event);
    if (metadataOmitted) {
      logger.error({ eventId: event.eventId, type: event.type }, 'event metadata cannot be serialised; publishing the event without it');
    }
    return payload;
  };
  const publish = (
    subject: string,
    event: KillSwitchEvent | EscalationEvent | ScreeningFailureEvent | DeadLetterEvent | QuarantineEvent,
    opts?: PublishCallOptions,
  ) => durable.publishRaw(subject, event.type, event.eventId, encode(event), opts);

  const subjectFor = (prefix: string, streamId: string): string => {
    // A bad id would publish to the wrong subject (or a wildcard); it can never succeed.
    if (!STREAM_ID_PATTERN.test(streamId)) {
      throw new PublishError(`refusing to publish for stream id "${streamId}": not a valid subject token`, { retryable: false });
    }
    return `${prefix}.${streamId}`;
  };

  const subjectOf = (e: DecisionEvent): string => {
    switch (e.type) {
      case 'killswitch':
        return subjectFor(e.shadow ? `${o.shadowSubjectPrefix}.killswitch` : o.killSwitchSubjectPrefix, e.streamId);
      case 'escalation':
        return subjectFor(e.shadow ? `${o.shadowSubjectPrefix}.escalation` : o.escalationSubjectPrefix, e.streamId);
      case 'failure':
        return subjectFor(o.failureSubjectPrefix, e.streamId);
      case 'quarantine':
        return SUBJECTS.quarantine;
    }
  };

  return {
    options: o,
    provision,
    subjectFor: subjectOf,
    encode,
    publishRecorded: (subject, type, eventId, payload, opts) => durable.publishRaw(subject, type, eventId, payload, opts),
    // Shadow-mode decisions go to their own subjects: recorded for evaluating a policy, never
    // seen by whatever acts on the real ones.
    publishKillSwitch: async (e, opts) => publish(subjectOf(e), e, opts),
    publishEscalation: async (e, opts) => publish(subjectOf(e), e, opts),
    publishFailure: async (e, opts) => publish(subjectOf(e), e, opts),
    publishDeadLetter: async (e, opts) => publish(o.deadLetterSubject, e, opts),
    publishQuarantine: async (e, opts) => publish(subjectOf(e), e, opts),
  };
}
