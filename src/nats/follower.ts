import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../domain/logger.js';
import { backoffDelay, sleep } from '../domain/retry.js';

export interface FollowerDeps {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly logger: Logger;
  /** Called for each message in order; a throw is logged and the next message still arrives. */
  onMessage(m: JsMsg): void;
  /** `new` (default): only messages stored after the follower starts. `all`: from the first. */
  readonly from?: 'new' | 'all';
}

export interface Follower {
  /** False while messages are not being received (consumer being recreated, stream missing, heartbeats missed). */
  readonly healthy: boolean;
  /** Why it is not healthy; undefined when it is. */
  readonly problem: string | undefined;
  stop(): Promise<void>;
}

/** Restart backoff of a dead follower: 250 ms doubling to 5 s. */
const RESTART_INITIAL_MS = 250;
const RESTART_MAX_MS = 5000;

/**
 * Follows every message of a stream with an ordered consumer (client-side, recreated by nats.js
 * after disconnects and server restarts from the last sequence it saw), for state that every
 * replica must see (stream ends, review decisions, blocks) rather than one of them: a durable
 * per replica would be left behind by every dead replica.
 *
 * If the consumer dies anyway (the stream was deleted, the consumer could not be recreated, the
 * iterator failed) it is recreated here with backoff, from the sequence after the last message
 * seen, so messages stored meanwhile are still delivered. A stream that was deleted and created
 * again restarts its sequences, so it is then read from the beginning. nats.js's own recovery is
 * not used for a missing stream (abort_on_missing_resource) because it would resume from the old
 * stream's sequence and skip the new stream's first messages.
 */
export async function followStream(deps: FollowerDeps): Promise<Follower> {
  const { js, jsm, stream, logger } = deps;
  const info = await jsm.streams.info(stream);
  let streamCreated = info.created;
  let nextSeq = deps.from === 'all' ? 1 : info.state.last_seq + 1;
  let healthy = false;
  let problem: string | undefined = 'starting';
  let stopped = false;
  const stopping = new AbortController();

  const setHealth = (ok: boolean, why?: string): void => {
    healthy = ok;
    problem = ok ? undefined : why;
  };

  const handle = (m: JsMsg): void => {
    nextSeq = m.seq + 1;
    try {
      deps.onMessage(m);
    } catch (err) {
      // One bad callback must not stop every later message from arriving.
      logger.error({ err, stream, seq: m.seq }, 'handling a followed message failed');
    }
  };

  const open = async (): Promise<ConsumerMessages> => {
    const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: nextSeq });
    const messages = await consumer.consume({ abort_on_missing_resource: true });
    void watchStatus(messages);
    return messages;
  };

  const watchStatus = async (messages: ConsumerMessages): Promise<void> => {
    for await (const s of messages.status()) {
      if (s.type === 'heartbeats_missed') setHealth(false, `${stream} follower missed ${s.count} heartbeats`);
      else if (s.type === 'ordered_consumer_recreated') setHealth(true);
    }
  };

  let current: ConsumerMessages | undefined = await open();
  setHealth(true);

  const supervise = async (): Promise<void> => {
    let failures = 0;
    while (!stopped) {
      try {
        if (!current) {
          const now = await jsm.streams.info(stream);
          if (now.created !== streamCreated) {
            logger.warn({ stream }, 'the followed stream was recreated; reading it from the start');
            streamCreated = now.created;
            nextSeq = 1;
          }
          current = await open();
          if (stopped) break;
          setHealth(true);
          logger.info({ stream, fromSeq: nextSeq, failures }, 'follower recreated');
        }
        for await (const m of current) {
          handle(m);
          failures = 0;
          if (!healthy) setHealth(true);
        }
        if (stopped) break;
        throw new Error(`the ${stream} consumer stopped`);
      } catch (err) {
        if (stopped) break;
        current = undefined;
        failures++;
        const retryInMs = backoffDelay(failures, RESTART_INITIAL_MS, RESTART_MAX_MS);
        setHealth(false, `${stream} follower down: ${err instanceof Error ? err.message : String(err)}`);
        // A server restart drops the consumer once, routinely; failing again means something is wrong.
        logger[failures === 1 ? 'warn' : 'error']({ err, stream, retryInMs, failures }, 'follower stopped; recreating it');
        await sleep(retryInMs, stopping.signal).catch(() => undefined);
      }
    }
    await current?.close().catch(() => undefined);
  };
  const loop = supervise();

  return {
    get healthy() {
      return healthy;
    },
    get problem() {
      return problem;
    },
    stop: async () => {
      stopped = true;
      stopping.abort();
      setHealth(false, 'stopped');
      await current?.close().catch(() => undefined);
      await loop;
    },
  };
}
