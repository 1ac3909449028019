import type { EscalationEvent, KillSwitchEvent, QuarantineEvent, ScreeningFailureEvent } from '../../contracts/index.js';
import type { Outbox } from './outbox.js';
import type { DecisionEvent, DecisionPublisher } from './publisher.js';

/**
 * How the worker hands decisions over: recorded in the outbox (durable on return), published
 * from there. Each call resolves once the decision is recorded, not when JetStream acks it, so
 * screening never waits for NATS. An abort signal is not taken: a decision made on a frame this
 * worker screened is delivered even if the stream has changed hands since (consumers dedupe by
 * event id).
 */
export interface DecisionRecorder {
  killSwitch(event: KillSwitchEvent): Promise<void>;
  escalation(event: EscalationEvent): Promise<void>;
  failure(event: ScreeningFailureEvent): Promise<void>;
  /** A list entry's flood quarantine (screening.quarantine). */
  quarantine(event: QuarantineEvent): Promise<void>;
}

export function createDecisionRecorder(publisher: Pick<DecisionPublisher, 'subjectFor' | 'encode'>, outbox: Outbox): DecisionRecorder {
  const record = (e: DecisionEvent): Promise<void> => outbox.record(publisher.subjectFor(e), e, publisher.encode(e));
  return { killSwitch: record, escalation: record, failure: record, quarantine: record };
}
