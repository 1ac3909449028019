import { JetStreamApiError } from '@nats-io/jetstream';
import {
  ClosedConnectionError,
  DrainingConnectionError,
  InvalidArgumentError,
  InvalidSubjectError,
  PermissionViolationError,
} from '@nats-io/transport-node';

/** Whether another attempt of the same publish can succeed, and why not when it cannot. */
export type PublishFailure = { readonly retryable: true } | { readonly retryable: false; readonly reason: string };

/**
 * JetStream API statuses in the 4xx range that are still worth retrying: 404 (no stream: the
 * publisher re-provisions), 408 (request timeout), 409 (a clustered stream still processing the
 * same Nats-Msg-Id) and 429 (too many requests). Every other 4xx says the message itself is
 * refused (too large for the stream, bad request, expected-stream mismatch, sealed stream...),
 * and sending the same bytes again gets the same answer.
 */
const RETRYABLE_4XX = new Set([404, 408, 409, 429]);

/**
 * Sorts a failed publish into "retry until acked" and "can never succeed". Retrying is the
 * default for anything not known to be permanent (timeouts, no responders, a lost connection,
 * 503s, errors we do not recognise): a kill-switch must never be given up on a guess. What is
 * known to be permanent ends the retries so the caller hears about it instead of a publish that
 * silently spins forever.
 */
export function classifyPublishError(err: unknown): PublishFailure {
  for (const e of causeChain(err)) {
    if (e instanceof ClosedConnectionError) return { retryable: false, reason: 'the NATS connection is closed' };
    if (e instanceof DrainingConnectionError) return { retryable: false, reason: 'the NATS connection is draining' };
    // Raised by the client before sending: payload over the server's max_payload, bad subject.
    if (e instanceof InvalidArgumentError || e instanceof InvalidSubjectError) return { retryable: false, reason: e.message };
    if (e instanceof PermissionViolationError) return { retryable: false, reason: `not permitted: ${e.message}` };
    if (e instanceof JetStreamApiError && e.status >= 400 && e.status < 500 && !RETRYABLE_4XX.has(e.status)) {
      return { retryable: false, reason: `JetStream refused the message (status ${e.status}, error ${e.code}): ${e.message}` };
    }
  }
  return { retryable: true };
}

function causeChain(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = err; e !== undefined && out.length < 5; e = e instanceof Error ? e.cause : undefined) out.push(e);
  return out;
}
