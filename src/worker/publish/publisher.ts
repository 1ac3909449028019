import type { JetStreamClient, PubAck, StreamInfo } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { DeadLetterEvent, EscalationEvent, KillSwitchEvent, QuarantineEvent, ScreeningFailureEvent } from '../../contracts/index.js';
import { STREAM_ID_PATTERN, SUBJECTS } from '../../contracts/index.js';
import { PublishError } from '../../domain/errors.js';
import type { Logger } from '../../domain/logger.js';
import { classifyPublishError } from './classify-error.js';
import type { PublishCallOptions, PublishReceipt } from './events.js';
import { resolvePublisherOptions, type PublisherOptions } from './options.js';
import { ensureStream, type DesiredStream } from './ensure-stream.js';
import { provisionDecisionStreams } from './provision.js';
import { backoffDelay, sleep } from '../../domain/retry.js';

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
  /** Creates/updates the outbound streams (idempotent). */
  provision(): Promise<void>;
  /**
   * Creates any JetStream stream, or brings an existing one to these settings (idempotent, safe
   * to race; settings JetStream cannot change in place throw ConfigError). Offered to ingest as a
   * collaborator so it can provision its inbound streams without importing this stage.
   */
  ensureStream(desired: DesiredStream): Promise<StreamInfo>;
  readonly options: PublisherOptions;
}

export interface DecisionPublisherDeps {
  readonly js: JetStreamClient;
  readonly logger: Logger;
  readonly options?: Partial<PublisherOptions>;
}

/**
 * Durable, idempotent publishing of screening decisions. Every event is published with
 * `Nats-Msg-Id` = its eventId and retried with backoff until JetStream acks it: a kill-switch
 * must never be dropped, and the dedupe window makes "stored, but the ack was lost" retries
 * harmless. The only ways out without an ack are the caller's AbortSignal (the worker lost the
 * stream and must publish nothing more for it), a closed or draining connection, or an event
 * that can never be published (bad stream id, larger than the server's max_payload or the
 * stream's max_msg_size, any other 4xx refusal: see classifyPublishError): those reject with a
 * non-retryable PublishError, so the caller can escalate or exit. Timeouts, no responders,
 * connection loss and 503s are retried until acked.
 */
export function createDecisionPublisher(deps: DecisionPublisherDeps): DecisionPublisher {
  const o = resolvePublisherOptions(deps.options);
  const { js } = deps;
  const logger = deps.logger.child({ component: 'publish' });
  let provisioning: Promise<void> | undefined;

  const provision = (): Promise<void> => {
    // Concurrent publishes that all hit a missing stream share one provisioning round.
    provisioning ??= (async () => provisionDecisionStreams(await js.jetstreamManager(), o, logger))().finally(() => {
      provisioning = undefined;
    });
    return provisioning;
  };

  const publish = async (
    subject: string,
    type: string,
    eventId: string,
    event: object,
    opts: PublishCallOptions = {},
  ): Promise<PublishReceipt> => {
    const { signal } = opts;
    const payload = JSON.stringify(event);
    const log = logger.child({ subject, eventId, type });
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      const h = natsHeaders();
      h.set('Content-Type', 'application/json');
      h.set('Streamscreen-Event-Type', type);
      try {
        const ack = await raceAbort(js.publish(subject, payload, { msgID: eventId, timeout: o.publishTimeoutMs, headers: h }), signal);
        if (attempt > 1) log.info({ attempts: attempt, seq: ack.seq, duplicate: ack.duplicate }, 'published after retries');
        return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate, attempts: attempt };
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        const failure = classifyPublishError(err);
        if (!failure.retryable) {
          log.error({ err, attempt, bytes: Buffer.byteLength(payload) }, 'publish can never succeed; giving up');
          throw new PublishError(`cannot publish ${type} ${eventId} to ${subject}: ${failure.reason}`, { cause: err, retryable: false });
        }
        const delay = backoffDelay(attempt, o.retryInitialDelayMs, o.retryMaxDelayMs);
        // Loud at first and then every 10th attempt: an outage must be visible without flooding logs.
        if (attempt <= 3 || attempt % 10 === 0) {
          log.warn({ err, attempt, retryInMs: delay }, 'publish not acked; retrying');
        }
        if (o.provisionOnMissingStream && isNoStream(err)) {
          await provision().catch((perr: unknown) => log.warn({ err: perr }, 'could not provision outbound streams'));
        }
        await sleep(delay, signal);
      }
    }
  };

  const subjectFor = (prefix: string, streamId: string): string => {
    // A bad id would publish to the wrong subject (or a wildcard); it can never succeed.
    if (!STREAM_ID_PATTERN.test(streamId)) {
      throw new PublishError(`refusing to publish for stream id "${streamId}": not a valid subject token`, { retryable: false });
    }
    return `${prefix}.${streamId}`;
  };

  return {
    options: o,
    provision,
    ensureStream: async (desired) => ensureStream(await js.jetstreamManager(), desired, logger),
    // Shadow-mode decisions go to their own subjects: recorded for evaluating a policy, never
    // seen by whatever acts on the real ones.
    publishKillSwitch: async (e, opts) =>
      publish(
        subjectFor(e.shadow ? `${o.shadowSubjectPrefix}.killswitch` : o.killSwitchSubjectPrefix, e.streamId),
        e.type,
        e.eventId,
        e,
        opts,
      ),
    publishEscalation: async (e, opts) =>
      publish(
        subjectFor(e.shadow ? `${o.shadowSubjectPrefix}.escalation` : o.escalationSubjectPrefix, e.streamId),
        e.type,
        e.eventId,
        e,
        opts,
      ),
    publishFailure: async (e, opts) => publish(subjectFor(o.failureSubjectPrefix, e.streamId), e.type, e.eventId, e, opts),
    publishDeadLetter: async (e, opts) => publish(o.deadLetterSubject, e.type, e.eventId, e, opts),
    publishQuarantine: async (e, opts) => publish(SUBJECTS.quarantine, e.type, e.eventId, e, opts),
  };
}

/**
 * With no stream bound to the subject the server has no responder; nats.js v3 reports that as
 * "jetstream is not enabled" (JetStreamNotEnabled) or a 503 NoResponders.
 */
function isNoStream(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const chain: unknown[] = [err, err.cause];
  return chain.some(
    (e) => e instanceof Error && (e.name === 'JetStreamNotEnabled' || e.name === 'NoRespondersError' || /no responders/i.test(e.message)),
  );
}

function raceAbort(p: Promise<PubAck>, signal: AbortSignal | undefined): Promise<PubAck> {
  if (!signal) return p;
  return new Promise<PubAck>((resolve, reject) => {
    // Aborted with an Error by whoever owns the signal (intake's assignment signals are).
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
