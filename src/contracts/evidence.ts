import { z } from 'zod';
import { Hex64Schema, IsoTimeSchema, type DeepReadonly } from './common.js';

/**
 * Where a piece of evidence (one rendition of one sampled frame) is stored: an object in a
 * JetStream Object Store bucket. Events carry these references, never pixels.
 *
 * Renditions of a frame:
 * - `blurred`: pixels already blurred and greyscale; safe to show by default.
 * - `reviewer`: the clear reviewer copy (downscaled JPEG). A console shows it only after a
 *   deliberate reveal, which it counts against the reviewer's exposure budget.
 * - `original`: the frame as sampled, kept for legal preservation (kill-switches and hash matches
 *   only); every read is audited, with who, when and why.
 *
 * Encryption at rest: `encryption: 'aes-256-gcm'` means the object's bytes are the envelope of
 * src/domain/evidence-envelope.ts (magic "SSEV", version, key id, 96-bit nonce, ciphertext,
 * 128-bit tag) under the configured key `keyId`; `none` means the bytes are the image itself.
 * `sha256` and `size` are always those of the image bytes (after decryption), so the digest
 * quoted in a report names the evidence itself, whatever key stored it. Objects are written with
 * the NATS kit's putVerified (src/nats/objects.ts), whose object metadata records the digest of
 * the stored bytes; readers check both.
 */
export const EvidenceRefSchema = z
  .strictObject({
    bucket: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be an Object Store bucket name')
      .describe('Object Store bucket holding the object'),
    name: z.string().min(1).max(512).describe('Object name in the bucket'),
    sha256: Hex64Schema.describe('SHA-256 of the image bytes (after decryption); checked on every read'),
    size: z.number().int().min(0).describe('Length of the image bytes (after decryption)'),
    contentType: z.enum(['image/jpeg', 'image/png', 'image/webp']),
    rendition: z.enum(['blurred', 'reviewer', 'original']),
    blurred: z.boolean().describe('True when the stored pixels themselves are blurred (nothing clear can be shown from this object)'),
    preserved: z.boolean().describe('Kept for legal preservation (evidence.preserveDays); every read is audited'),
    encryption: z
      .enum(['none', 'aes-256-gcm'])
      .describe('aes-256-gcm: the object is an evidence envelope (src/domain/evidence-envelope.ts)'),
    keyId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .optional()
      .describe('Id of the configured key that encrypted the object; present exactly when encrypted'),
  })
  .refine((r) => (r.encryption === 'none') === (r.keyId === undefined), {
    message: 'keyId is required when encrypted and absent otherwise',
    path: ['keyId'],
  })
  .describe('Where one rendition of one evidence frame is stored (JetStream Object Store)');

/** One sampled frame of a case's storyboard, with the renditions stored for it. */
export const EvidenceFrameSchema = z
  .strictObject({
    seq: z.number().int().min(0).describe('Frame sequence number within the screening run'),
    capturedAt: IsoTimeSchema,
    pts: z.number().optional(),
    decisive: z.boolean().describe('The frame the rule fired on (others are the storyboard around it)'),
    pdqHash: Hex64Schema.optional().describe("The frame's PDQ hash (add-to-list puts this on a list)"),
    renditions: z.array(EvidenceRefSchema).min(1).max(3).describe('At most one per rendition'),
  })
  .refine((f) => new Set(f.renditions.map((r) => r.rendition)).size === f.renditions.length, {
    message: 'at most one reference per rendition',
    path: ['renditions'],
  });

export type EvidenceRef = DeepReadonly<z.output<typeof EvidenceRefSchema>>;
export type EvidenceFrame = DeepReadonly<z.output<typeof EvidenceFrameSchema>>;
export type EvidenceRendition = EvidenceRef['rendition'];
