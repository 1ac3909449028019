import { createHash } from 'node:crypto';
import type { JetStreamClient } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { EvidenceRef } from '../../contracts/index.js';
import { EvidenceError, openEvidence } from '../../domain/evidence-envelope.js';
import type { EvidenceReader } from '../ports.js';

/**
 * Reads evidence the worker stored (issue 10): the object named by the reference, opened with
 * the configured key when encrypted, and served only when its SHA-256 is the one the reference
 * states. A mismatch is an error, never a best effort: this is evidence.
 */
export function createEvidenceReader(js: JetStreamClient, keys: ReadonlyMap<string, Uint8Array>): EvidenceReader {
  const stores = new Map<string, Promise<ObjectStore>>();
  const objm = new Objm(js);
  const store = (bucket: string): Promise<ObjectStore> => {
    let s = stores.get(bucket);
    if (!s) {
      s = objm.open(bucket);
      s.catch(() => stores.delete(bucket));
      stores.set(bucket, s);
    }
    return s;
  };
  return {
    async read(ref: EvidenceRef): Promise<Buffer> {
      let stored: Uint8Array | null;
      try {
        stored = await (await store(ref.bucket)).getBlob(ref.name);
      } catch (err) {
        throw new EvidenceError('evidence_read_failed', `cannot read ${ref.bucket}/${ref.name}`, { cause: err });
      }
      if (!stored)
        throw new EvidenceError('evidence_missing', `${ref.bucket}/${ref.name} is not in the object store (expired or never stored)`);
      const image = ref.encryption === 'aes-256-gcm' ? openEvidence(stored, keys) : Buffer.from(stored);
      const digest = createHash('sha256').update(image).digest('hex');
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
