import { SCHEMA_VERSION, type DeadLetterEvent, type DeadLetterReason } from '../../contracts/index.js';
import { deadLetterEventId } from '../../domain/event-id.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * How much of the original payload a dead letter copies. The same 64 KiB a start event may
 * have, so an event refused for anything but its size is kept whole. Bigger payloads keep their
 * first 64 KiB (an issue says how much was cut): even written entirely as JSON escapes (6 bytes
 * per byte) the dead letter stays under NATS's default 1 MiB max_payload, so an oversized
 * message cannot make its own dead letter unpublishable.
 */
export const MAX_DEAD_LETTER_PAYLOAD_BYTES = 64 * 1024;

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
  reason: DeadLetterReason,
  issues: readonly string[],
  workerId: string,
  receivedAt = new Date(),
): DeadLetterEvent {
  const { data } = source;
  const kept = data.byteLength > MAX_DEAD_LETTER_PAYLOAD_BYTES ? data.subarray(0, utf8Boundary(data, MAX_DEAD_LETTER_PAYLOAD_BYTES)) : data;
  return {
    schemaVersion: SCHEMA_VERSION,
    type: 'deadletter',
    eventId: deadLetterEventId(source.stream, source.seq),
    subject: source.subject,
    reason,
    issues:
      kept === data
        ? issues
        : [...issues, `payload: only the first ${kept.byteLength} of ${data.byteLength} bytes are kept in this dead letter`],
    ...encodePayload(kept),
    receivedAt: receivedAt.toISOString(),
    workerId,
  };
}

/** The largest cut at or below `max` that does not split a UTF-8 sequence (text stays text). */
function utf8Boundary(data: Uint8Array, max: number): number {
  let end = max;
  // Step back over continuation bytes (10xxxxxx) to the start of the sequence they belong to.
  while (end > max - 4 && end > 0 && (data[end]! & 0xc0) === 0x80) end--;
  return end;
}
