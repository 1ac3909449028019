/** A validated stream-start event (see ingest/events.ts for the wire schema). */
export interface StreamStart {
  readonly streamId: string;
  readonly url: string;
  readonly startedAt?: string;
  /** Platform metadata passed through untouched to every decision about this stream. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

export interface StreamEnd {
  readonly streamId: string;
  readonly endedAt?: string;
}

/**
 * Stream ids become NATS subject tokens and KV keys, so they are restricted to characters that
 * are valid in both (no `.`, `*`, `>` or whitespace).
 */
export const STREAM_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
