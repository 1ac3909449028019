/**
 * One error pattern for the whole worker: every failure carries a stable `code` (used as a
 * Prometheus label and in dead-letter/failure events) and says whether trying again can help.
 * `retryable` is what decides `nak(delay)` versus `term()` for a JetStream message, and
 * restart-with-backoff versus give-up for an ffmpeg source.
 */
export interface ErrorOptions {
  cause?: unknown;
  retryable?: boolean;
}

export class StreamscreenError extends Error {
  override name = 'StreamscreenError';
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: ErrorOptions = {}) {
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
  readonly code: string;
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

/** An inbound event that fails its schema: terminal, it goes to the dead-letter subject. */
export class EventValidationError extends StreamscreenError {
  override name = 'EventValidationError';
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
    options: ErrorOptions = {},
  ) {
    super('event_invalid', message, { ...options, retryable: false });
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
  constructor(code: 'model_invalid' | 'inference_failed', message: string, options: ErrorOptions = {}) {
    super(code, message, options);
  }
}

export function isRetryable(err: unknown): boolean {
  return err instanceof StreamscreenError ? err.retryable : false;
}

/** Stable label for metrics and events, whatever was thrown. */
export function errorCode(err: unknown): string {
  return err instanceof StreamscreenError ? err.code : 'internal';
}
