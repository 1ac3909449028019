import type { JetStreamManager, MsgRequest } from '@nats-io/jetstream';
import type { IngestOptions } from '../../config/index.js';

/** Starts no worker has taken yet: what on-call watches to see streams going unscreened. */
export interface StartsBacklog {
  /** The shared consumer's undelivered starts. */
  readonly pending: number;
  /** Age of the oldest undelivered start; 0 when none waits. */
  readonly oldestWaitingSeconds: number;
}

/**
 * Two JetStream API reads: the consumer's pending count, then the first start after the last one
 * it delivered (a worker at capacity stops pulling, so waiting starts stay undelivered). Starts
 * given back with a delay (held by another worker's lease) are in-flight, not waiting, and are
 * not counted.
 */
export async function readStartsBacklog(
  jsm: JetStreamManager,
  o: Pick<IngestOptions, 'startsStream' | 'consumerName' | 'startsSubjectPrefix'>,
  now: () => number = Date.now,
): Promise<StartsBacklog> {
  const info = await jsm.consumers.info(o.startsStream, o.consumerName);
  if (info.num_pending === 0) return { pending: 0, oldestWaitingSeconds: 0 };
  // `next_by_subj` (nats-server 2.9+) skips sequences a re-announce replaced; the client's
  // MsgRequest type lists only the plain forms but passes the request through as given.
  const query = { seq: info.delivered.stream_seq + 1, next_by_subj: `${o.startsSubjectPrefix}.*` } as unknown as MsgRequest;
  const next = await jsm.streams.getMessage(o.startsStream, query);
  const oldestWaitingSeconds = next ? Math.max(0, (now() - next.time.getTime()) / 1000) : 0;
  return { pending: info.num_pending, oldestWaitingSeconds };
}
