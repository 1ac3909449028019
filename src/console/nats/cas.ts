import { JetStreamApiCodes } from '@nats-io/jetstream';
import { hasApiCode } from '../../nats/index.js';

/** A KV compare-and-swap lost to another writer: read again and decide again. */
export function isCasConflict(err: unknown): boolean {
  return hasApiCode(err, JetStreamApiCodes.StreamWrongLastSequence) || hasApiCode(err, JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}
