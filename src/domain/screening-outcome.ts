/**
 * How one screening of one stream ended, as the screener reports it to whoever assigned it.
 * A value rather than a throw or a callback, so the assigning side (worker/intake/) decides
 * alone what happens to the start message and the lease.
 */
export type ScreeningOutcome =
  /** Stopped because the assignment's signal aborted: the assigner already knows why. */
  | { readonly kind: 'stopped' }
  /** The source finished on its own: the stream is over. */
  | { readonly kind: 'source_ended' }
  /** Another worker owns the stream now: nothing more may be done for it here. */
  | { readonly kind: 'lease_lost' }
  /** Screening could not go on. The assigner reports it (screening.failure) and decides on a retry. */
  | { readonly kind: 'failed'; readonly error: unknown };
