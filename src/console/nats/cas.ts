import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';

/** A KV compare-and-swap lost to another writer: read again and decide again. */
export function isCasConflict(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}
