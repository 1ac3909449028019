import { StreamscreenError } from '../../domain/errors.js';

/** Why a screening assignment was stopped by ingest (lease loss uses the domain's LeaseLostError). */
export type AbortCause = 'ended' | 'shutdown' | 'superseded' | 'completed';

/**
 * The reason an assignment's AbortSignal carries when the stream ended, the worker is shutting
 * down, a re-announced start replaced it, or it was completed. Not a failure: nothing to escalate.
 */
export class AssignmentAbortedError extends StreamscreenError {
  override name = 'AssignmentAbortedError';
  constructor(
    readonly streamId: string,
    readonly reason: AbortCause,
    message = `screening of stream ${streamId} stopped: ${reason}`,
  ) {
    super(`assignment_${reason}`, message, { retryable: false });
  }
}
