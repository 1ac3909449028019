/** A validated stream-start event (wire schema: src/contracts/stream-events.ts). */
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
