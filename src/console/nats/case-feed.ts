import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import { CaseEventSchema, ReviewAckSchema, ReviewDecisionSchema } from '../../contracts/index.js';
import type { Logger } from '../../domain/logger.js';
import type { CaseFeed, FeedItem } from '../ports.js';

/**
 * Follows the cases stream and the review stream with ordered consumers from their first
 * message: on start the console rebuilds its queue by replay (case events carry whole states,
 * so replay is a fold), then keeps up live. Ordered consumers are ephemeral, so nothing is left
 * on the server when the console goes, and they recover from gaps by themselves.
 * A payload that breaks its contract is logged and skipped: the console only reads; the
 * producer's dead letters and tests are where contract breaks are caught.
 */
export function createCaseFeed(js: JetStreamClient, streams: { cases: string; review: string }, logger: Logger): CaseFeed {
  const running: Array<{ messages: ConsumerMessages; done: Promise<void> }> = [];
  const follow = async (stream: string, onItem: (item: FeedItem) => void): Promise<void> => {
    const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
    const messages = await consumer.consume();
    const done = (async () => {
      for await (const m of messages) {
        const item = parse(m);
        if (item) onItem(item);
        else logger.warn({ subject: m.subject, seq: m.seq }, 'skipped a message that breaks its contract');
      }
    })();
    running.push({ messages, done });
  };
  return {
    async start(onItem) {
      await follow(streams.cases, onItem);
      await follow(streams.review, onItem);
    },
    async stop() {
      for (const r of running.splice(0)) {
        await r.messages.close();
        await r.done;
      }
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
