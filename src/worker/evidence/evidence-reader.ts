import type { JetStreamClient } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';
import { SCHEMA_VERSION, type AuditRecord, type EvidenceRef } from '../../contracts/index.js';
import { StreamscreenError } from '../../domain/errors.js';
import { EvidenceError, openEvidence } from '../../domain/evidence-envelope.js';
import { randomUUID } from 'node:crypto';
import { getVerified, sha256Hex } from '../../nats/index.js';
import { openEvidenceBucket } from './buckets.js';

export class EvidenceWhyRequiredError extends StreamscreenError {
  override name = 'EvidenceWhyRequiredError';
  constructor(ref: EvidenceRef) {
    super('evidence_why_required', `${ref.bucket}/${ref.name} is a preserved original: state why it is read (it is audited)`);
  }
}

export interface EvidenceReadRequest {
  readonly ref: EvidenceRef;
  readonly actor: AuditRecord['actor'];
  /** Required for preserved originals; recorded in the audit record. */
  readonly why?: string;
  readonly caseId?: string;
  readonly streamId?: string;
  /** What the read is for, as audited: viewing an original, or exporting evidence for a report. */
  readonly purpose?: 'original_viewed' | 'evidence_exported';
}

export interface EvidenceReader {
  read(request: EvidenceReadRequest): Promise<Buffer>;
}

/**
 * Reads evidence as its reference says: the object's stored bytes checked against the digest
 * recorded at put time, opened with the configured key, and the image checked against the
 * reference's SHA-256. A preserved original is read only with a stated reason, and only after
 * the audit record of the read (who, when, why, which object) is stored: no audit, no bytes.
 */
export function createEvidenceReader(deps: {
  readonly js: JetStreamClient;
  readonly keys: ReadonlyMap<string, Uint8Array>;
  readonly audit: (record: AuditRecord) => Promise<unknown>;
  readonly now?: () => number;
}): EvidenceReader {
  const now = deps.now ?? Date.now;
  const buckets = new Map<string, Promise<ObjectStore | null>>();
  const bucket = (name: string) => {
    let b = buckets.get(name);
    if (!b) {
      b = openEvidenceBucket(deps.js, name);
      buckets.set(name, b);
    }
    return b;
  };
  return {
    async read(req) {
      const { ref } = req;
      const audited = ref.preserved || req.purpose === 'evidence_exported';
      if (ref.preserved && !req.why?.trim()) throw new EvidenceWhyRequiredError(ref);
      if (audited) {
        await deps.audit({
          schemaVersion: SCHEMA_VERSION,
          type: 'audit',
          eventId: `audit-read-${randomUUID()}`,
          at: new Date(now()).toISOString(),
          actor: req.actor,
          action: req.purpose ?? 'original_viewed',
          ...(req.caseId ? { caseId: req.caseId } : {}),
          ...(req.streamId ? { streamId: req.streamId } : {}),
          evidence: { bucket: ref.bucket, name: ref.name, rendition: ref.rendition, sha256: ref.sha256 },
          ...(req.why ? { why: req.why.slice(0, 2000) } : {}),
        });
      }
      const os = await bucket(ref.bucket);
      if (!os) throw new EvidenceError('evidence_missing', `bucket ${ref.bucket} does not exist`);
      let stored;
      try {
        stored = await getVerified(os, ref.name);
      } catch (err) {
        throw new EvidenceError('evidence_read_failed', `cannot read ${ref.bucket}/${ref.name}`, { cause: err });
      }
      if (!stored)
        throw new EvidenceError('evidence_missing', `${ref.bucket}/${ref.name} is not in the object store (expired or never stored)`);
      const image = ref.encryption === 'aes-256-gcm' ? openEvidence(stored.bytes, deps.keys) : Buffer.from(stored.bytes);
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
