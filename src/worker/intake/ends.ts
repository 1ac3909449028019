import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../../domain/logger.js';
import { backoffDelay, sleep } from '../../domain/retry.js';
import { parseEndEvent, type DeadLetterReason } from './parse-events.js';
import type { IngestOptions } from '../../config/index.js';
import { isoToNanos } from './time.js';

export interface EndNotice {
  readonly streamId: string;
  /** Server receive time of the end event, epoch ns. */
  readonly endedAtNanos: bigint;
  readonly seq: number;
}

export interface InvalidEnd {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly seq: number;
  readonly reason: DeadLetterReason;
  readonly issues: readonly string[];
}

/** The last valid end recorded for a stream id, or undefined. Used at admission. */
export async function lastEndFor(jsm: JetStreamManager, o: IngestOptions, streamId: string): Promise<EndNotice | undefined> {
  const sm = await jsm.streams.getMessage(o.endsStream, { last_by_subj: `${o.endsSubjectPrefix}.${streamId}` });
  if (!sm) return undefined;
  // An end we refused (dead-lettered) does not end anything.
  const parsed = parseEndEvent(sm.subject, sm.data, o.endsSubjectPrefix);
  if (!parsed.ok) return undefined;
  return { streamId, endedAtNanos: isoToNanos(sm.timestamp), seq: sm.seq };
}

export interface EndsFollower {
  /**
   * False while ends are not being received: the consumer died and is being recreated, the
   * ends stream is missing, or the server's heartbeats stopped. Held streams would not hear
   * their end meanwhile, so the worker is not ready.
   */
  readonly healthy: boolean;
  /** Why it is not healthy; undefined when it is. */
  readonly problem: string | undefined;
  stop(): Promise<void>;
}

/** Restart backoff of a dead follower: 250 ms doubling to 5 s, like the pull loop. */
const RESTART_INITIAL_MS = 250;
const RESTART_MAX_MS = 5000;

/**
 * Every worker follows every end: the worker holding the stream is not known to the publisher.
 * An ordered consumer (client-side, recreated by nats.js after disconnects and server restarts
 * from the last sequence it saw) is used instead of a durable per worker, which would be
 * left behind by every dead worker. It starts after the current last sequence: ends already
 * stored are found by lastEndFor() when a start is admitted, and a worker holds nothing yet.
 *
 * If the consumer dies anyway (the ends stream was deleted, the consumer could not be
 * recreated, the iterator failed) it is recreated here with backoff, from the sequence after
 * the last end seen, so ends stored meanwhile are still delivered. A stream that was deleted
 * and created again restarts its sequences, so it is then read from the beginning: replayed
 * ends are harmless (an end older than a held start is ignored). nats.js's own recovery is not
 * used for a missing stream (abort_on_missing_resource) because it would resume from the old
 * stream's sequence and skip the new stream's first ends.
 */
export async function followEnds(deps: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  options: IngestOptions;
  logger: Logger;
  onEnd(end: EndNotice): void;
  onInvalid(end: InvalidEnd): void;
}): Promise<EndsFollower> {
  const { js, jsm, options: o, logger } = deps;
  const info = await jsm.streams.info(o.endsStream);
  let streamCreated = info.created;
  let nextSeq = info.state.last_seq + 1;
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
      const parsed = parseEndEvent(m.subject, m.data, o.endsSubjectPrefix);
      if (!parsed.ok) {
        deps.onInvalid({ subject: m.subject, data: m.data, seq: m.seq, reason: parsed.reason, issues: parsed.issues });
        return;
      }
      deps.onEnd({ streamId: parsed.value.streamId, endedAtNanos: m.timestampNanos, seq: m.seq });
    } catch (err) {
      // One bad callback must not stop every later end from arriving.
      logger.error({ err, seq: m.seq }, 'handling an end event failed');
    }
  };

  const open = async (): Promise<ConsumerMessages> => {
    const consumer = await js.consumers.get(o.endsStream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: nextSeq });
    const messages = await consumer.consume({ abort_on_missing_resource: true });
    void watchStatus(messages);
    return messages;
  };

  const watchStatus = async (messages: ConsumerMessages): Promise<void> => {
    for await (const s of messages.status()) {
      if (s.type === 'heartbeats_missed') setHealth(false, `ends consumer missed ${s.count} heartbeats`);
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
          const now = await jsm.streams.info(o.endsStream);
          if (now.created !== streamCreated) {
            logger.warn({ stream: o.endsStream }, 'the ends stream was recreated; reading it from the start');
            streamCreated = now.created;
            nextSeq = 1;
          }
          current = await open();
          if (stopped) break;
          setHealth(true);
          logger.info({ fromSeq: nextSeq, failures }, 'ends follower recreated');
        }
        for await (const m of current) {
          handle(m);
          failures = 0;
          if (!healthy) setHealth(true);
        }
        if (stopped) break;
        throw new Error('the ends consumer stopped');
      } catch (err) {
        if (stopped) break;
        current = undefined;
        failures++;
        const retryInMs = backoffDelay(failures, RESTART_INITIAL_MS, RESTART_MAX_MS);
        setHealth(false, `ends follower down: ${err instanceof Error ? err.message : String(err)}`);
        // A server restart drops the consumer once, routinely; failing again means something is wrong.
        logger[failures === 1 ? 'warn' : 'error']({ err, retryInMs, failures }, 'ends follower stopped; recreating it');
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
