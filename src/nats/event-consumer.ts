import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { StreamscreenError } from '../domain/errors.js';
import type { Logger } from '../domain/logger.js';
import { backoffDelay, sleep } from '../domain/retry.js';
import { retryVerdict } from './errors.js';

/**
 * What becomes of one message, as a value: handlers return it, and one pure table (settle) turns
 * it into the JetStream call. `ack`: done. `nak`: try again after a delay (the consumer's
 * redelivery, so another replica may take it). `term`: never redeliver (the reason is logged;
 * terminal input is dead-lettered before it is termed, so nothing is lost).
 */
export type Settlement =
  | { readonly kind: 'ack' }
  | { readonly kind: 'nak'; readonly delayMs: number; readonly reason: string }
  | { readonly kind: 'term'; readonly reason: string };

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string; readonly issues: readonly string[] };

export interface MessageMeta {
  readonly subject: string;
  readonly stream: string;
  readonly seq: number;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
}

export interface InvalidMessage extends MessageMeta {
  readonly data: Uint8Array;
  readonly reason: string;
  readonly issues: readonly string[];
}

export interface EventConsumerDeps<T> {
  readonly js: JetStreamClient;
  readonly logger: Logger;
  /** Stream and durable consumer (provisioned by the caller with ensureConsumer). */
  readonly stream: string;
  readonly consumer: string;
  /** Validation at the edge: a payload that fails is dead-lettered with its reason, then termed. */
  parse(subject: string, data: Uint8Array): Parsed<T>;
  handle(event: T, meta: MessageMeta): Promise<Settlement>;
  /** Stores the dead letter; a rejection naks the message so it is dead-lettered on a later delivery. */
  deadLetter(invalid: InvalidMessage): Promise<void>;
  /** Messages handled at once. */
  readonly concurrency?: number;
  /** Retry delays for failures that can succeed later: doubling per delivery from first to max. */
  readonly retryInitialDelayMs?: number;
  readonly retryMaxDelayMs?: number;
}

export interface EventConsumer {
  /** False while the consumer is being recreated after a failure. */
  healthy(): boolean;
  /** Stops taking messages and waits for the ones in hand to settle. */
  stop(): Promise<void>;
}

/** The pure table: an error thrown by a handler becomes a nak (retryable) or a term (terminal). */
export function settlementForError(err: unknown, deliveryCount: number, initialMs: number, maxMs: number): Settlement {
  const retryable = err instanceof StreamscreenError ? err.retryable : retryVerdict(err).retryable;
  const reason = err instanceof Error ? err.message : String(err);
  return retryable ? { kind: 'nak', delayMs: backoffDelay(deliveryCount, initialMs, maxMs), reason } : { kind: 'term', reason };
}

/** Applies a settlement to a message: the one place our values become JetStream acks. */
export function settle(msg: Pick<JsMsg, 'ack' | 'nak' | 'term'>, s: Settlement): void {
  switch (s.kind) {
    case 'ack':
      msg.ack();
      return;
    case 'nak':
      msg.nak(s.delayMs);
      return;
    case 'term':
      // No reason argument: nats-server 2.9 treats a term with a reason body as a nak.
      msg.term();
      return;
  }
}

/**
 * A durable pull consumer of validated events. Each message is parsed once; an invalid one is
 * dead-lettered and termed; a valid one goes to the handler, whose Settlement decides its fate,
 * and a handler that throws is settled by settlementForError. The consumer recreates itself with
 * backoff when the iterator fails (server restart, consumer deleted and re-provisioned).
 */
export async function consumeEvents<T>(deps: EventConsumerDeps<T>): Promise<EventConsumer> {
  const { js, logger } = deps;
  const concurrency = deps.concurrency ?? 4;
  const initialMs = deps.retryInitialDelayMs ?? 1000;
  const maxMs = deps.retryMaxDelayMs ?? 60_000;
  const inFlight = new Set<Promise<void>>();
  const stopping = new AbortController();
  let healthy = false;

  const processOne = async (m: JsMsg): Promise<void> => {
    const meta: MessageMeta = { subject: m.subject, stream: m.info.stream, seq: m.seq, deliveryCount: m.info.deliveryCount };
    let s: Settlement;
    try {
      const parsed = deps.parse(m.subject, m.data);
      if (!parsed.ok) {
        await deps.deadLetter({ ...meta, data: m.data, reason: parsed.reason, issues: parsed.issues });
        s = { kind: 'term', reason: `dead-lettered: ${parsed.reason}` };
      } else {
        s = await deps.handle(parsed.value, meta);
      }
    } catch (err) {
      s = settlementForError(err, meta.deliveryCount, initialMs, maxMs);
    }
    if (s.kind !== 'ack')
      logger.warn({ subject: meta.subject, seq: meta.seq, delivery: meta.deliveryCount, settlement: s }, 'message not acked');
    settle(m, s);
  };

  const run = async (): Promise<void> => {
    let failures = 0;
    while (!stopping.signal.aborted) {
      try {
        const consumer = await js.consumers.get(deps.stream, deps.consumer);
        const messages = await consumer.consume({ max_messages: concurrency });
        stopping.signal.addEventListener('abort', () => void messages.close().catch(() => undefined), { once: true });
        healthy = true;
        for await (const m of messages) {
          failures = 0;
          const p = processOne(m).finally(() => inFlight.delete(p));
          inFlight.add(p);
          if (inFlight.size >= concurrency) await Promise.race(inFlight);
        }
        if (stopping.signal.aborted) break;
        throw new Error('the consumer stopped');
      } catch (err) {
        healthy = false;
        if (stopping.signal.aborted) break;
        failures++;
        const retryInMs = backoffDelay(failures, 250, 5000);
        logger[failures === 1 ? 'warn' : 'error'](
          { err, retryInMs, stream: deps.stream, consumer: deps.consumer },
          'consumer stopped; recreating it',
        );
        await sleep(retryInMs, stopping.signal).catch(() => undefined);
      }
    }
  };
  const loop = run();

  return {
    healthy: () => healthy,
    stop: async () => {
      stopping.abort(new Error('consumer stopping'));
      healthy = false;
      await loop;
      await Promise.allSettled([...inFlight]);
    },
  };
}
