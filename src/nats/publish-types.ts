/** Where a published event was stored. `duplicate`: an earlier attempt had already stored it. */
export interface PublishReceipt {
  readonly stream: string;
  readonly seq: number;
  readonly duplicate: boolean;
  /** How many publish attempts it took (1 when the first one was acked). */
  readonly attempts: number;
}

export interface PublishCallOptions {
  /** Stops the retries (e.g. the lease was lost); the call then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}
