import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../domain/logger.js';
import { parseEndEvent, type DeadLetterReason } from './events.js';
import type { IngestOptions } from './options.js';
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
  stop(): Promise<void>;
}

/**
 * Every worker follows every end: the worker holding the stream is not known to the publisher.
 * An ordered consumer (client-side, recreated by nats.js after disconnects and server restarts
 * from the last sequence it saw) is used instead of a durable per worker, which would be
 * left behind by every dead worker. It starts after the current last sequence: ends already
 * stored are found by lastEndFor() when a start is admitted, and a worker holds nothing yet.
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
  const consumer = await js.consumers.get(o.endsStream, {
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: info.state.last_seq + 1,
  });
  const handle = (m: JsMsg): void => {
    const parsed = parseEndEvent(m.subject, m.data, o.endsSubjectPrefix);
    if (!parsed.ok) {
      deps.onInvalid({ subject: m.subject, data: m.data, seq: m.seq, reason: parsed.reason, issues: parsed.issues });
      return;
    }
    deps.onEnd({ streamId: parsed.value.streamId, endedAtNanos: m.timestampNanos, seq: m.seq });
  };

  const messages: ConsumerMessages = await consumer.consume();
  const loop = (async () => {
    for await (const m of messages) handle(m);
  })().catch((err: unknown) => logger.error({ err }, 'ends follower stopped unexpectedly'));

  return {
    stop: async () => {
      await messages.close();
      await loop;
    },
  };
}
