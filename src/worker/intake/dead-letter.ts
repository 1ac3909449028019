import { SCHEMA_VERSION, type DeadLetterEvent, type DeadLetterReason } from '../../contracts/index.js';
import { deadLetterEventId } from '../../domain/event-id.js';
import { redactUrl, redactUrlsInText } from '../../domain/redact.js';

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
    ...redactPayload(encodePayload(kept)),
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

/**
 * A refused start still carries its stream URL, and the stream key or signed token in it; the
 * dead-letter stream is read by whoever fixes producers, who need the event's shape, not its
 * key. Every URL in the payload loses its secrets (redactUrl: userinfo, query values, the RTMP
 * key) and everything else is kept as sent, byte for byte where the text allows. A payload that
 * is not UTF-8 is redacted the same way over its bytes read as Latin-1 (URLs are ASCII).
 */
export function redactPayload(
  p: Pick<DeadLetterEvent, 'payload' | 'payloadEncoding'>,
): Pick<DeadLetterEvent, 'payload' | 'payloadEncoding'> {
  if (p.payloadEncoding === 'base64') {
    const text = Buffer.from(p.payload, 'base64').toString('latin1');
    return { payload: Buffer.from(redactUrlsInText(text), 'latin1').toString('base64'), payloadEncoding: 'base64' };
  }
  const text = redactUrlsInText(p.payload);
  // A url field the text pass could not see whole (JSON escapes such as \u002f inside it): re-serialise with it redacted.
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { payload: text, payloadEncoding: 'utf8' };
  }
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    const url = (parsed as { url?: unknown }).url;
    if (typeof url === 'string' && redactUrl(url) !== url) {
      return { payload: JSON.stringify({ ...parsed, url: redactUrl(url) }), payloadEncoding: 'utf8' };
    }
  }
  return { payload: text, payloadEncoding: 'utf8' };
}
