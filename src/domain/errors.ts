/**
 * One error pattern for the whole worker: every failure carries a stable `code` (used as a
 * Prometheus label and in dead-letter/failure events) and says whether trying again can help.
 * `retryable` is what decides `nak(delay)` versus `term()` for a JetStream message, and
 * restart-with-backoff versus give-up for an ffmpeg source.
 */

/**
 * Every error code there is. Codes are metric labels and the `code` of failure events, so the
 * set is closed: a new failure gets a name here, and a misspelt code does not compile.
 */
export const ERROR_CODES = [
  'config_invalid',
  'hashlist_invalid',
  // SourceError: see SourceErrorCode.
  'source_unreachable',
  'source_stalled',
  'source_invalid',
  // The source policy forbids it (scheme, SRT option, a host or address in a denied range).
  'source_refused',
  'source_failed',
  'ffmpeg_missing',
  'ffmpeg_crashed',
  'publish_failed',
  // nats/: a connection that cannot be opened at start; an object whose digest does not match.
  'nats_connect_failed',
  'object_integrity',
  'lease_lost',
  'image_unreadable',
  'model_invalid',
  'inference_failed',
  // EvidenceError (domain/evidence-envelope.ts).
  'evidence_envelope_invalid',
  'evidence_key_unknown',
  'evidence_auth_failed',
  'evidence_digest_mismatch',
  'evidence_missing',
  'evidence_read_failed',
  // AssignmentAbortedError (intake): why a screening was told to stop; not failures.
  'assignment_ended',
  'assignment_shutdown',
  'assignment_superseded',
  'assignment_completed',
  // Counted only: an invalid start whose dead letter could not be stored yet (it is retried).
  'deadletter_deferred',
  // add-to-list: another writer holds the list's lock (retried).
  // A preserved original asked for without a stated reason: refused, nothing read.
  'evidence_why_required',
  'list_busy',
  // Whatever was thrown that is not a StreamscreenError.
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export type SourceErrorCode = Extract<
  ErrorCode,
  'source_unreachable' | 'source_stalled' | 'source_invalid' | 'source_refused' | 'source_failed' | 'ffmpeg_missing' | 'ffmpeg_crashed'
>;

export interface ErrorOptions {
  cause?: unknown;
  retryable?: boolean;
}

export class StreamscreenError extends Error {
  override name = 'StreamscreenError';
  readonly code: ErrorCode;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
  }

  /**
   * What an outbound event may say about this error, when that differs from code and message:
   * errors whose message quotes what the outside world answered (a source's HTTP status, a
   * refused port) publish a stable reason instead, and keep the detail for the logs.
   */
  publicDetail(): PublicErrorDetail | undefined {
    return undefined;
  }
}

/** A reason code and a message that carry nothing learned from outside the worker. */
export interface PublicErrorDetail {
  readonly code: ErrorCode;
  readonly message: string;
}

/** Configuration that cannot be used; lists every problem at once. */
export class ConfigError extends StreamscreenError {
  override name = 'ConfigError';
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
    options: ErrorOptions = {},
  ) {
    super('config_invalid', issues.length ? `${message}:\n  - ${issues.join('\n  - ')}` : message, options);
  }
}

/** A hash list that cannot be loaded; the whole file is refused. */
export class HashListError extends StreamscreenError {
  override name = 'HashListError';
  constructor(
    message: string,
    readonly file: string,
    readonly line?: number,
    options: ErrorOptions = {},
  ) {
    super('hashlist_invalid', line === undefined ? `${file}: ${message}` : `${file}:${line}: ${message}`, options);
  }
}

/**
 * A video source problem. Codes: `source_unreachable` (connect/refused/DNS/404),
 * `source_stalled` (no frame within the stall timeout), `source_invalid` (bad URL, scheme not
 * allowed, undecodable), `source_failed` (retries spent), `ffmpeg_missing`, `ffmpeg_crashed`.
 */
export class SourceError extends StreamscreenError {
  override name = 'SourceError';
  declare readonly code: SourceErrorCode;
  constructor(code: SourceErrorCode, message: string, options: ErrorOptions = {}) {
    super(code, message, options);
  }
}

/** Publishing to NATS did not get an ack; callers retry until it does. */
export class PublishError extends StreamscreenError {
  override name = 'PublishError';
  constructor(message: string, options: ErrorOptions = {}) {
    super('publish_failed', message, { retryable: true, ...options });
  }
}

/** This worker no longer owns the stream; it must stop publishing for it at once. */
export class LeaseLostError extends StreamscreenError {
  override name = 'LeaseLostError';
  constructor(
    readonly streamId: string,
    message = `lease for stream ${streamId} is no longer held by this worker`,
    options: ErrorOptions = {},
  ) {
    super('lease_lost', message, { ...options, retryable: false });
  }
}

/** An image file that cannot be read or decoded (CLI input, evidence). */
export class ImageDecodeError extends StreamscreenError {
  override name = 'ImageDecodeError';
  constructor(
    readonly file: string,
    message: string,
    options: ErrorOptions = {},
  ) {
    super('image_unreadable', `${file}: ${message}`, options);
  }
}

/** A model file or manifest that cannot be used, or an inference that failed. */
export class ModelError extends StreamscreenError {
  override name = 'ModelError';
  declare readonly code: Extract<ErrorCode, 'model_invalid' | 'inference_failed'>;
  constructor(code: Extract<ErrorCode, 'model_invalid' | 'inference_failed'>, message: string, options: ErrorOptions = {}) {
    super(code, message, options);
  }
}

export function isRetryable(err: unknown): boolean {
  return err instanceof StreamscreenError ? err.retryable : false;
}

/** Stable label for metrics and events, whatever was thrown. */
export function errorCode(err: unknown): ErrorCode {
  return err instanceof StreamscreenError ? err.code : 'internal';
}
