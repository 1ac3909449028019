import type { JetStreamClient } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import type { EvidenceRef } from '../../contracts/index.js';
import { EvidenceError, openEvidence } from '../../domain/evidence-envelope.js';
import { getVerified, openObjectStore, sha256Hex } from '../../nats/index.js';
import type { EvidenceReader } from '../ports.js';

/**
 * Reads evidence the worker stored (issue 10) with the kit's verified get (the object's bytes
 * against the sha256 recorded at put time), opens it with the configured key when encrypted,
 * and serves it only when the image's SHA-256 is the one the reference states. Any mismatch is
 * an error, never a best effort: this is evidence.
 */
export function createEvidenceReader(js: JetStreamClient, keys: ReadonlyMap<string, Uint8Array>): EvidenceReader {
  const stores = new Map<string, ObjectStore>();
  const store = async (bucket: string): Promise<ObjectStore | null> => {
    const known = stores.get(bucket);
    if (known) return known;
    const opened = await openObjectStore(js, bucket, false);
    if (opened) stores.set(bucket, opened);
    return opened;
  };
  return {
    async read(ref: EvidenceRef): Promise<Buffer> {
      let stored: Uint8Array | undefined;
      try {
        const os = await store(ref.bucket);
        stored = os ? ((await getVerified(os, ref.name))?.bytes ?? undefined) : undefined;
      } catch (err) {
        throw new EvidenceError('evidence_read_failed', `cannot read ${ref.bucket}/${ref.name} intact`, { cause: err });
      }
      if (!stored)
        throw new EvidenceError('evidence_missing', `${ref.bucket}/${ref.name} is not in the object store (expired or never stored)`);
      const image = ref.encryption === 'aes-256-gcm' ? openEvidence(stored, keys) : Buffer.from(stored);
      const digest = sha256Hex(image);
      if (digest !== ref.sha256) {
        throw new EvidenceError(
          'evidence_digest_mismatch',
          `${ref.bucket}/${ref.name}: sha256 ${digest} is not the ${ref.sha256} its reference states`,
        );
      }
      return image;
    },
  };
}
