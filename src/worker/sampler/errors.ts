import { SourceError } from '../../domain/errors.js';

/**
 * Terminal: the source could not be screened and the sampler has given up. The pipeline turns it
 * into a `screening.failure` event (code, message, url, attempts).
 */
export class SourceFailedError extends SourceError {
  override name = 'SourceFailedError';
  constructor(
    /** The source URL with credentials and stream keys redacted. */
    readonly url: string,
    /** ffmpeg runs started, the first included. */
    readonly attempts: number,
    /** The error that ended the last attempt (its `code` is the useful metric label). */
    readonly lastCause: SourceError,
  ) {
    super(
      'source_failed',
      `could not sample ${url} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${lastCause.code}: ${lastCause.message}`,
      {
        retryable: false,
        cause: lastCause,
      },
    );
  }
}
