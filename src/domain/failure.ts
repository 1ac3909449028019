import { SCHEMA_VERSION, type ScreeningFailureEvent } from '../contracts/index.js';
import { errorCode, StreamscreenError } from './errors.js';
import { failureEventId } from './event-id.js';
import { redactUrl, redactUrlsInText } from './redact.js';
import type { StreamStart } from './stream.js';

/**
 * Longest message a failure event carries. Error messages can quote whole ffmpeg logs or
 * server replies; reviewers need the gist, and the event must stay small enough to publish.
 */
export const MAX_FAILURE_MESSAGE_CHARS = 2000;

export interface ScreeningFailureInput {
  readonly start: StreamStart;
  /** The ingest run (one lease acquisition): with the code it makes the event id. */
  readonly runId: string;
  readonly workerId: string;
  /** What failed; its `code` (errorCode) names the failure and its message explains it. */
  readonly error: unknown;
  /** Source attempts made. Default: the error's own numeric `attempts`, when it has one. */
  readonly attempts?: number;
  /** Replaces the error's message (e.g. a summary written by the caller). */
  readonly message?: string;
  /** When it failed. Default: now. */
  readonly at?: Date;
}

/**
 * The one way to build a `screening.failure.<streamId>` event, whichever stage reports it. The
 * id is derived from (stream, run, code), so the pipeline and ingest reporting the same failure
 * of the same run, or a retried publish, store it once. Stream secrets never leave the worker:
 * the source URL is redacted, and so is any URL the message quotes. An error with a public
 * detail (a source's failure) is reported by that alone, so the events cannot be used to learn
 * what answers where through the worker.
 */
export function screeningFailureEvent(input: ScreeningFailureInput): ScreeningFailureEvent {
  const { start, error } = input;
  const publicDetail = error instanceof StreamscreenError ? error.publicDetail() : undefined;
  const code = publicDetail?.code ?? errorCode(error);
  // How many attempts fitted in the connect budget says how long each took (a timeout or a refusal):
  // left out wherever the detail is.
  const attempts = input.attempts ?? (publicDetail ? undefined : attemptsOf(error));
  return {
    schemaVersion: SCHEMA_VERSION,
    type: 'failure',
    eventId: failureEventId(start.streamId, input.runId, code),
    streamId: start.streamId,
    code,
    message: cap(redactUrlsInText(input.message ?? publicDetail?.message ?? messageOf(error))),
    url: redactUrl(start.url),
    ...(attempts === undefined ? {} : { attempts }),
    at: (input.at ?? new Date()).toISOString(),
    workerId: input.workerId,
  };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function attemptsOf(error: unknown): number | undefined {
  const n = typeof error === 'object' && error !== null ? (error as { attempts?: unknown }).attempts : undefined;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : undefined;
}

function cap(text: string): string {
  return text.length <= MAX_FAILURE_MESSAGE_CHARS ? text : `${text.slice(0, MAX_FAILURE_MESSAGE_CHARS - 1)}…`;
}
