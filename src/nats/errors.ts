import { JetStreamApiError, type JetStreamApiCodes } from '@nats-io/jetstream';
// The public entry point does not export JetStreamNotEnabled; the package's own ./internal entry does.
import { jserrors } from '@nats-io/jetstream/internal';
import {
  AuthorizationError,
  ClosedConnectionError,
  DrainingConnectionError,
  InvalidArgumentError,
  InvalidSubjectError,
  NoRespondersError,
  PermissionViolationError,
  UserAuthenticationExpiredError,
} from '@nats-io/transport-node';

/** Whether another attempt of the same request can succeed, and why not when it cannot. */
export type NatsFailure = { readonly retryable: true } | { readonly retryable: false; readonly reason: string };

/**
 * JetStream API statuses in the 4xx range that are still worth retrying: 404 (no stream: the
 * caller may re-provision), 408 (request timeout), 409 (a clustered stream still processing the
 * same Nats-Msg-Id) and 429 (too many requests). Every other 4xx says the message itself is
 * refused (too large for the stream, bad request, expected-stream mismatch, sealed stream...),
 * and sending the same bytes again gets the same answer.
 */
const RETRYABLE_4XX = new Set([404, 408, 409, 429]);

/**
 * The one place where a NATS failure is sorted into "retry" and "can never succeed", by class and
 * API code only (never by message text, which changes between client versions). Retrying is the
 * default for anything not known to be permanent (timeouts, no responders, a lost connection,
 * 503s, errors we do not recognise): a kill-switch must never be given up on a guess. What is
 * known to be permanent ends the retries so the caller hears about it instead of a request that
 * silently spins forever.
 */
export function retryVerdict(err: unknown): NatsFailure {
  for (const e of causeChain(err)) {
    if (e instanceof ClosedConnectionError) return { retryable: false, reason: 'the NATS connection is closed' };
    if (e instanceof DrainingConnectionError) return { retryable: false, reason: 'the NATS connection is draining' };
    // Raised by the client before sending: payload over the server's max_payload, bad subject.
    if (e instanceof InvalidArgumentError || e instanceof InvalidSubjectError) return { retryable: false, reason: e.message };
    if (e instanceof PermissionViolationError) return { retryable: false, reason: `not permitted: ${e.message}` };
    if (e instanceof AuthorizationError || e instanceof UserAuthenticationExpiredError) {
      return { retryable: false, reason: `NATS refused the credentials: ${e.message}` };
    }
    if (e instanceof JetStreamApiError && e.status >= 400 && e.status < 500 && !RETRYABLE_4XX.has(e.status)) {
      return { retryable: false, reason: `JetStream refused the request (status ${e.status}, error ${e.code}): ${e.message}` };
    }
  }
  return { retryable: true };
}

/** A JetStream API error with this code (e.g. JetStreamApiCodes.StreamNotFound) anywhere in the cause chain. */
export function hasApiCode(err: unknown, code: JetStreamApiCodes): boolean {
  return causeChain(err).some((e) => e instanceof JetStreamApiError && e.code === code);
}

/**
 * No stream is bound to the subject of a JetStream publish: the server has no responder, which
 * nats.js v3 reports as JetStreamNotEnabled or NoRespondersError depending on the path.
 */
export function isNoStream(err: unknown): boolean {
  return causeChain(err).some((e) => e instanceof jserrors.JetStreamNotEnabled || e instanceof NoRespondersError);
}

/** The connection is closed or draining: nothing more can be sent on it (the process is stopping). */
export function isConnectionClosed(err: unknown): boolean {
  return causeChain(err).some((e) => e instanceof ClosedConnectionError || e instanceof DrainingConnectionError);
}

/** Credentials or TLS refused: retrying the connection with the same settings cannot help. */
export function isAuthOrTlsFailure(err: unknown): boolean {
  return causeChain(err).some(
    (e) =>
      e instanceof AuthorizationError ||
      e instanceof UserAuthenticationExpiredError ||
      (e instanceof Error && 'code' in e && typeof e.code === 'string' && TLS_CODES.test(e.code)),
  );
}

/** Node's TLS failures carry OpenSSL-derived codes such as ERR_TLS_CERT_ALTNAME_INVALID or DEPTH_ZERO_SELF_SIGNED_CERT. */
const TLS_CODES = /^(ERR_TLS_|ERR_SSL_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_|CERT_)/;

function causeChain(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = err; e !== undefined && out.length < 5; e = e instanceof Error ? e.cause : undefined) out.push(e);
  return out;
}
