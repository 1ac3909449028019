import type { DeadLetterEvent } from '../domain/decision.js';
import { deadLetterEventId } from '../domain/event-id.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The original payload, readable when it is text, lossless (base64) when it is not. */
export function encodePayload(data: Uint8Array): Pick<DeadLetterEvent, 'payload' | 'payloadEncoding'> {
  try {
    return { payload: strictUtf8.decode(data), payloadEncoding: 'utf8' };
  } catch {
    return { payload: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'), payloadEncoding: 'base64' };
  }
}

export interface DeadLetterSource {
  /** JetStream stream the message was stored in, and its sequence there. */
  readonly stream: string;
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
}

/**
 * The event id comes from the message's place in its stream, so a redelivered (or, for ends,
 * every worker's) copy of the same bad message dedupes to one dead letter.
 */
export function buildDeadLetter(
  source: DeadLetterSource,
  reason: string,
  issues: readonly string[],
  workerId: string,
  receivedAt = new Date(),
): DeadLetterEvent {
  return {
    type: 'deadletter',
    eventId: deadLetterEventId(source.stream, source.seq),
    subject: source.subject,
    reason,
    issues,
    ...encodePayload(source.data),
    receivedAt: receivedAt.toISOString(),
    workerId,
  };
}
