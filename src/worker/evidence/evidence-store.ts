import { createHash } from 'node:crypto';
import type { EvidenceOptions } from '../../config/index.js';
import type { EvidenceFrame, EvidenceRef } from '../../contracts/index.js';
import { sealEvidence } from '../../domain/evidence-envelope.js';
import type { EvidenceRequest, EvidenceStore } from '../../domain/ports.js';
import { putVerified } from '../../nats/index.js';
import type { EvidenceBuckets } from './buckets.js';
import { renderFrame } from './renditions.js';

/**
 * Stores a case's storyboard: every rendition of every frame, sealed with the configured key
 * (AES-256-GCM envelope) before it leaves the process, in the bucket of its retention class.
 * References carry the SHA-256 and size of the image itself (before encryption), so a report
 * quotes the digest of the evidence whatever key stored it; the object's own metadata carries the
 * digest of the stored bytes, checked on every read (nats/objects.ts). Pixels never reach a log.
 */
export function createEvidenceStore(deps: { readonly buckets: EvidenceBuckets; readonly options: EvidenceOptions }): EvidenceStore {
  const o = deps.options;
  const key = o.sealWith;
  if (!key) throw new Error('evidence store needs a sealing key (evidence.keys)');
  return {
    async store(request: EvidenceRequest, signal?: AbortSignal): Promise<EvidenceFrame[]> {
      const out: EvidenceFrame[] = [];
      const last = request.frames.length - 1;
      for (const [i, source] of request.frames.entries()) {
        signal?.throwIfAborted();
        const decisive = i === last;
        const images = await renderFrame(source.frame, o, decisive && request.preserveOriginal && o.preserveOriginals);
        const renditions: EvidenceRef[] = [];
        for (const image of images) {
          const preserved = image.rendition === 'original';
          const bucket = preserved ? deps.buckets.preserved : deps.buckets.reviewer;
          const name = `${request.streamId}/${request.caseId}/${source.frame.seq}-${image.rendition}.${image.ext}.enc`;
          const sha256 = createHash('sha256').update(image.bytes).digest('hex');
          await putVerified(bucket, name, sealEvidence(image.bytes, key), {
            image_sha256: sha256,
            content_type: image.contentType,
            rendition: image.rendition,
            stream_id: request.streamId,
            case_id: request.caseId,
          });
          renditions.push({
            bucket: preserved ? o.preservedBucket : o.reviewerBucket,
            name,
            sha256,
            size: image.bytes.length,
            contentType: image.contentType,
            rendition: image.rendition,
            blurred: image.rendition === 'blurred',
            preserved,
            encryption: 'aes-256-gcm',
            keyId: key.id,
          });
        }
        out.push({
          seq: source.frame.seq,
          capturedAt: new Date(source.frame.capturedAt).toISOString(),
          pts: source.frame.pts,
          decisive,
          ...(source.pdqHash ? { pdqHash: source.pdqHash } : {}),
          renditions,
        });
      }
      return out;
    },
  };
}
