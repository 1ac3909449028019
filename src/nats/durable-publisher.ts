import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { PublishError } from '../domain/errors.js';
import type { Logger } from '../domain/logger.js';
import { backoffDelay, sleep } from '../domain/retry.js';
import { retryVerdict, isNoStream } from './errors.js';
import type { PublishCallOptions, PublishReceipt } from './publish-types.js';

/** The envelope fields every event on our subjects carries (src/contracts/). */
export interface PublishableEvent {
  readonly type: string;
  readonly eventId: string;
}

export interface DurablePublisherSettings {
  /** How long one attempt waits for the PubAck. */
  readonly timeoutMs: number;
  /** Retry backoff (domain/retry.ts): doubling from the first delay up to the cap. */
  readonly retryInitialDelayMs: number;
  readonly retryMaxDelayMs: number;
}

export interface DurablePublisherDeps {
  readonly js: JetStreamClient;
  readonly logger: Logger;
  readonly settings: DurablePublisherSettings;
  /**
   * Called when a publish finds no stream bound to its subject (deleted by an operator, a fresh
   * server); the publish goes on retrying afterwards. Concurrent callers share one call.
   */
  readonly provision?: () => Promise<void>;
  /** Told of every publish that was not acknowledged and is retried (for a retries metric). */
  readonly onRetry?: (retry: { readonly subject: string; readonly type: string; readonly attempt: number }) => void;
}

export interface DurablePublisher {
  /**
   * Publishes `event` as JSON with `Nats-Msg-Id` = its eventId and retries with backoff until
   * JetStream acks it. Rejects only when the signal aborts (with its reason) or when the
   * publish can never succeed (a non-retryable PublishError: closed connection, refused
   * credentials or permissions, a payload the server or stream refuses).
   */
  publish(subject: string, event: PublishableEvent, opts?: PublishCallOptions): Promise<PublishReceipt>;
  /** The same for bytes already serialised (an outbox replay sends exactly what it stored). */
  publishRaw(
    subject: string,
    type: string,
    eventId: string,
    payload: string | Uint8Array,
    opts?: PublishCallOptions,
  ): Promise<PublishReceipt>;
}

/**
 * At-least-once publishing made exactly-once by JetStream's dedupe window: every deployable that
 * emits an event (worker decisions, bridge stream events, enforcer audit, console decisions) uses
 * this, so retries, backoff and the give-up rule are the same everywhere.
 */
export function createDurablePublisher(deps: DurablePublisherDeps): DurablePublisher {
  const { js, settings: o } = deps;
  const logger = deps.logger.child({ component: 'publish' });
  let provisioning: Promise<void> | undefined;

  const provision = (): Promise<void> => {
    if (!deps.provision) return Promise.resolve();
    provisioning ??= deps.provision().finally(() => {
      provisioning = undefined;
    });
    return provisioning;
  };

  const publishRaw = async (
    subject: string,
    type: string,
    eventId: string,
    payload: string | Uint8Array,
    opts: PublishCallOptions = {},
  ): Promise<PublishReceipt> => {
    const { signal } = opts;
    const log = logger.child({ subject, eventId, type });
    for (let attempt = 1; ; attempt++) {
      signal?.throwIfAborted();
      const h = natsHeaders();
      h.set('Content-Type', 'application/json');
      h.set('Streamscreen-Event-Type', type);
      try {
        const ack = await raceAbort(js.publish(subject, payload, { msgID: eventId, timeout: o.timeoutMs, headers: h }), signal);
        if (attempt > 1) log.info({ attempts: attempt, seq: ack.seq, duplicate: ack.duplicate }, 'published after retries');
        return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate, attempts: attempt };
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        const failure = retryVerdict(err);
        if (!failure.retryable) {
          log.error(
            { err, attempt, bytes: typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength },
            'publish can never succeed; giving up',
          );
          throw new PublishError(`cannot publish ${type} ${eventId} to ${subject}: ${failure.reason}`, { cause: err, retryable: false });
        }
        const delay = backoffDelay(attempt, o.retryInitialDelayMs, o.retryMaxDelayMs);
        deps.onRetry?.({ subject, type, attempt });
        // Loud at first and then every 10th attempt: an outage must be visible without flooding logs.
        if (attempt <= 3 || attempt % 10 === 0) log.warn({ err, attempt, retryInMs: delay }, 'publish not acked; retrying');
        if (isNoStream(err)) await provision().catch((perr: unknown) => log.warn({ err: perr }, 'could not provision streams'));
        await sleep(delay, signal);
      }
    }
  };

  return {
    publishRaw,
    publish: (subject, event, opts) => publishRaw(subject, event.type, event.eventId, JSON.stringify(event), opts),
  };
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
