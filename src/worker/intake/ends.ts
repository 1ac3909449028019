import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { followStream, type Follower } from '../../nats/index.js';
import type { Logger } from '../../domain/logger.js';
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

/** The ends follower: nats/follower.ts, parsing each end. */
export type EndsFollower = Follower;

/**
 * Every worker follows every end: the worker holding the stream is not known to the publisher.
 * It starts after the current last sequence: ends already stored are found by lastEndFor() when a
 * start is admitted, and a worker holds nothing yet. Replayed ends (after the stream is
 * recreated) are harmless: an end older than a held start is ignored.
 */
export async function followEnds(deps: {
  js: JetStreamClient;
  jsm: JetStreamManager;
  options: IngestOptions;
  logger: Logger;
  onEnd(end: EndNotice): void;
  onInvalid(end: InvalidEnd): void;
}): Promise<EndsFollower> {
  const o = deps.options;
  return followStream({
    js: deps.js,
    jsm: deps.jsm,
    stream: o.endsStream,
    logger: deps.logger,
    onMessage: (m) => {
      const parsed = parseEndEvent(m.subject, m.data, o.endsSubjectPrefix);
      if (!parsed.ok) {
        deps.onInvalid({ subject: m.subject, data: m.data, seq: m.seq, reason: parsed.reason, issues: parsed.issues });
        return;
      }
      deps.onEnd({ streamId: parsed.value.streamId, endedAtNanos: m.timestampNanos, seq: m.seq });
    },
  });
}
