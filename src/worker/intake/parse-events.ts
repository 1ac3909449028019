import type { z } from 'zod';
import {
  MAX_START_EVENT_BYTES,
  STREAM_ID_PATTERN,
  SUBJECTS,
  StreamEndedSchema,
  StreamStartedSchema,
  type DeadLetterReason,
} from '../../contracts/index.js';
import type { StreamEnd, StreamStart } from '../../domain/stream.js';

/*
 * The edge where inbound events are validated, once: the wire schemas are src/contracts/'s;
 * this file turns a message (subject + bytes) into a value or a dead-letter reason with every issue.
 */

export type ParseResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: DeadLetterReason; readonly issues: readonly string[] };

export type { DeadLetterReason };

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses `streams.started.<id>`; the id in the subject must equal the body's streamId. An event
 * over `maxBytes` is refused (`too_large`) before it is parsed.
 */
export function parseStartEvent(
  subject: string,
  data: Uint8Array,
  subjectPrefix: string = SUBJECTS.streamStarted,
  maxBytes = MAX_START_EVENT_BYTES,
): ParseResult<StreamStart> {
  if (data.byteLength > maxBytes) {
    const issues = [
      `payload: ${data.byteLength} bytes, start events are limited to ${maxBytes} (metadata is copied into every decision about the stream)`,
    ];
    if (streamIdFromSubject(subject, subjectPrefix) === undefined) issues.push(subjectIssue(subject, subjectPrefix));
    return { ok: false, reason: 'too_large', issues };
  }
  const parsed = parseBody(subject, data, subjectPrefix, StreamStartedSchema);
  if (!parsed.ok) return parsed;
  // schemaVersion is ours, not the platform's: it is not passed on as metadata.
  const { schemaVersion: _version, streamId: id, url: u, startedAt, ...metadata } = parsed.value;
  return { ok: true, value: { streamId: id, url: u, ...(startedAt === undefined ? {} : { startedAt }), metadata } };
}

/** Parses `streams.ended.<id>` with the same subject/body consistency rule. */
export function parseEndEvent(subject: string, data: Uint8Array, subjectPrefix: string = SUBJECTS.streamEnded): ParseResult<StreamEnd> {
  const parsed = parseBody(subject, data, subjectPrefix, StreamEndedSchema);
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
