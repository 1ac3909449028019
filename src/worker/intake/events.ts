import { z } from 'zod';
import { STREAM_ID_PATTERN, type StreamEnd, type StreamStart } from '../../domain/stream.js';

/**
 * Wire schemas for the inbound lifecycle events. Unknown fields are platform metadata: they are
 * kept (not stripped) so every decision about the stream can carry them back to the platform.
 */

const streamId = z
  .string()
  .regex(STREAM_ID_PATTERN, 'must be 1-128 characters of A-Z a-z 0-9 _ - (it becomes a NATS subject token and KV key)');

/**
 * The sampler's own URL length limit (src/worker/sampler/source-url.ts). Equal on purpose: a longer URL
 * passed here would be taken, leased and only then refused by the sampler as a failure event,
 * when it is bad input that belongs in the dead letters. test/worker/intake/events.test.ts pins the two.
 */
export const MAX_URL_LENGTH = 4096;

/**
 * Largest start event accepted, in bytes. A real start (id, a URL of at most 4 KiB, a few
 * platform fields) is well under 8 KiB; everything beyond the known fields is metadata that is
 * copied into every kill-switch and escalation about the stream and kept for the decision
 * stream's retention. 64 KiB leaves producers ample room while keeping a decision carrying it
 * far below NATS's default 1 MiB max_payload, so metadata can never be what makes a kill-switch
 * unpublishable, and keeps a flood of decisions from being mostly copied metadata.
 */
export const MAX_START_EVENT_BYTES = 64 * 1024;

// The sampler decides which schemes it accepts; here we only refuse what can never be a source.
const url = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`)
  .refine((s) => !/[\s\u0000-\u001f]/.test(s), 'must not contain whitespace or control characters');

const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time with a time zone (e.g. 2024-05-01T12:00:00Z)' });

const StartSchema = z.looseObject({
  streamId,
  url,
  startedAt: isoTime.optional(),
});

/**
 * The issue gives one payload shape for both subjects; for an end only the id matters, so `url`
 * is optional there: refusing a well-formed end because it lacks a url would keep an ended
 * stream "live" for no benefit.
 */
const EndSchema = z.looseObject({
  streamId,
  url: url.optional(),
  endedAt: isoTime.optional(),
});

export type ParseResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: DeadLetterReason; readonly issues: readonly string[] };

/** Stable reasons, used in dead-letter events and as a metric label. */
export type DeadLetterReason = 'invalid_json' | 'schema_invalid' | 'subject_mismatch' | 'subject_invalid' | 'too_large';

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses `streams.started.<id>`; the id in the subject must equal the body's streamId. An event
 * over `maxBytes` is refused (`too_large`) before it is parsed.
 */
export function parseStartEvent(
  subject: string,
  data: Uint8Array,
  subjectPrefix = 'streams.started',
  maxBytes = MAX_START_EVENT_BYTES,
): ParseResult<StreamStart> {
  if (data.byteLength > maxBytes) {
    const issues = [`payload: ${data.byteLength} bytes, start events are limited to ${maxBytes} (metadata is copied into every decision about the stream)`];
    if (streamIdFromSubject(subject, subjectPrefix) === undefined) issues.push(subjectIssue(subject, subjectPrefix));
    return { ok: false, reason: 'too_large', issues };
  }
  const parsed = parseBody(subject, data, subjectPrefix, StartSchema);
  if (!parsed.ok) return parsed;
  const { streamId: id, url: u, startedAt, ...metadata } = parsed.value;
  return { ok: true, value: { streamId: id, url: u, ...(startedAt === undefined ? {} : { startedAt }), metadata } };
}

/** Parses `streams.ended.<id>` with the same subject/body consistency rule. */
export function parseEndEvent(subject: string, data: Uint8Array, subjectPrefix = 'streams.ended'): ParseResult<StreamEnd> {
  const parsed = parseBody(subject, data, subjectPrefix, EndSchema);
  if (!parsed.ok) return parsed;
  const { streamId: id, endedAt } = parsed.value;
  return { ok: true, value: { streamId: id, ...(endedAt === undefined ? {} : { endedAt }) } };
}

/** The stream id a subject names, or undefined when the subject is not `<prefix>.<valid id>`. */
export function streamIdFromSubject(subject: string, subjectPrefix: string): string | undefined {
  const head = `${subjectPrefix}.`;
  if (!subject.startsWith(head)) return undefined;
  const id = subject.slice(head.length);
  return STREAM_ID_PATTERN.test(id) ? id : undefined;
}

function parseBody<S extends z.ZodType<{ streamId: string }>>(
  subject: string,
  data: Uint8Array,
  subjectPrefix: string,
  schema: S,
): ParseResult<z.infer<S>> {
  const subjectId = streamIdFromSubject(subject, subjectPrefix);
  let text: string;
  try {
    text = decoder.decode(data);
  } catch {
    return { ok: false, reason: 'invalid_json', issues: ['payload is not valid UTF-8'] };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: 'invalid_json', issues: [`payload is not JSON: ${(err as Error).message}`] };
  }
  const result = schema.safeParse(json);
  const issues: string[] = [];
  if (subjectId === undefined) issues.push(subjectIssue(subject, subjectPrefix));
  if (!result.success) issues.push(...result.error.issues.map(formatIssue));
  if (issues.length > 0) {
    // Every problem is reported at once so the producer can fix the event in one go.
    return { ok: false, reason: subjectId === undefined ? 'subject_invalid' : 'schema_invalid', issues };
  }
  const value = (result as { data: z.infer<S> }).data;
  if (value.streamId !== subjectId) {
    return {
      ok: false,
      reason: 'subject_mismatch',
      issues: [`streamId: body says "${value.streamId}" but the subject names "${subjectId}"`],
    };
  }
  return { ok: true, value };
}

function subjectIssue(subject: string, subjectPrefix: string): string {
  return `subject: "${subject}" is not ${subjectPrefix}.<streamId> with a valid stream id`;
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
  return `${path}: ${issue.message}`;
}
