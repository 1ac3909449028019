import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { CaseEventSchema, ReviewAckSchema, ReviewDecisionSchema } from '../../contracts/index.js';
import type { Logger } from '../../domain/logger.js';
import { followStream, type Follower } from '../../nats/index.js';
import type { CaseFeed, FeedItem } from '../ports.js';

/**
 * Follows the cases stream and the review stream from their first message with the kit's
 * follower (ordered consumers, recreated after outages from the last sequence seen): on start
 * the console rebuilds its queue by replay (case events carry whole states, so replay is a
 * fold), then keeps up live. Every console replica sees everything; nothing durable is left on
 * the server when one goes. A payload that breaks its contract is logged and skipped: the
 * console only reads; the producer's tests and dead letters are where contract breaks are caught.
 */
export function createCaseFeed(
  js: JetStreamClient,
  jsm: JetStreamManager,
  streams: { cases: string; review: string },
  logger: Logger,
): CaseFeed {
  const followers: Follower[] = [];
  return {
    async start(onItem) {
      const onMessage = (m: JsMsg): void => {
        const item = parse(m);
        if (item) onItem(item);
        else logger.warn({ subject: m.subject, seq: m.seq }, 'skipped a message that breaks its contract');
      };
      for (const stream of [streams.cases, streams.review])
        followers.push(await followStream({ js, jsm, stream, logger, onMessage, from: 'all' }));
    },
    async stop() {
      for (const f of followers.splice(0)) await f.stop();
    },
  };
}

function parse(m: JsMsg): FeedItem | undefined {
  let payload: unknown;
  try {
    payload = m.json();
  } catch {
    return undefined;
  }
  const type = typeof payload === 'object' && payload !== null ? (payload as { type?: unknown }).type : undefined;
  if (type === 'review_decision') {
    const r = ReviewDecisionSchema.safeParse(payload);
    return r.success ? { kind: 'decision', decision: r.data } : undefined;
  }
  if (type === 'review_ack') {
    const r = ReviewAckSchema.safeParse(payload);
    return r.success ? { kind: 'ack', ack: r.data } : undefined;
  }
  const r = CaseEventSchema.safeParse(payload);
  return r.success ? { kind: 'case', event: r.data } : undefined;
}
