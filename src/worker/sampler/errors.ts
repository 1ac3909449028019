import { SourceError, type PublicErrorDetail } from '../../domain/errors.js';

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

  /**
   * Who reads failure events must not learn how the source failed: a 404, a refused connection, a
   * timeout, a TLS error or bytes that are no video would otherwise tell an attacker which
   * internal hosts and ports answer, through a worker that fetches what they ask. So events carry
   * one of three reasons, decided by what the caller gave (the URL and the policy), never by
   * what the network answered; the logs keep the detail.
   */
  override publicDetail(): PublicErrorDetail {
    switch (this.lastCause.code) {
      case 'source_refused':
        return { code: 'source_refused', message: "the source is not allowed by the worker's source policy" };
      case 'ffmpeg_missing':
        return { code: 'ffmpeg_missing', message: 'the worker cannot run ffmpeg' };
      default:
        return { code: 'source_unreachable', message: 'the source could not be read' };
    }
  }
}
