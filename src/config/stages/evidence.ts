import { z } from 'zod';
import { jetStreamName } from '../fields.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** base64 of exactly 32 bytes: what `openssl rand -base64 32` prints. */
const EvidenceKeySchema = z
  .string()
  .refine(
    (v) => /^[A-Za-z0-9+/]{43}=$/.test(v) && Buffer.from(v, 'base64').length === 32,
    'must be base64 of exactly 32 bytes (openssl rand -base64 32)',
  );

const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Evidence stored for cases and kill-switches (config section `evidence`): reviewer copies of the
 * decisive frame and a storyboard around it, and, for kill-switches and hash matches, the
 * original frame preserved for legal reporting. Everything is encrypted at rest (AES-256-GCM,
 * src/domain/evidence-envelope.ts) under a configured key; without a key nothing is stored.
 */
export const EvidenceSection = z
  .strictObject({
    enabled: z.boolean().default(true),
    /**
     * AES-256-GCM keys by id: base64 of 32 random bytes (`openssl rand -base64 32`). Several ids
     * so keys rotate: each object names the key that sealed it, old objects stay readable. Never
     * logged. The console reads with the same map.
     */
    keys: z.record(z.string().regex(KEY_ID, 'key id: 1-64 of A-Z a-z 0-9 _ -'), EvidenceKeySchema).default({}),
    /** The key new evidence is sealed with; may be omitted when exactly one key is configured. */
    keyId: z.string().regex(KEY_ID).optional(),
    /** Sampled frames per storyboard, the decisive one included (6: the seconds leading up to the decision at 1 fps). */
    storyboardFrames: z.number().int().min(1).max(32).default(6),
    /** Reviewer copies (blurred and clear renditions): kept long enough for a review backlog and an appeal. */
    reviewerBucket: jetStreamName('screening-evidence'),
    reviewerDays: z.number().int().min(1).max(3650).default(14),
    /**
     * Preserved originals (kill-switches and hash matches only). 365 days: 18 U.S.C. 2258A(h), as
     * amended in 2024, requires a provider to preserve reported content for one year.
     */
    preservedBucket: jetStreamName('screening-evidence-preserved'),
    preserveDays: z.number().int().min(1).max(3650).default(365),
    preserveOriginals: z.boolean().default(true),
    /**
     * Reviewer copies are downscaled to this width: enough to judge a scene, and less detail kept
     * in a copy whose only purpose is review.
     */
    width: z.number().int().min(64).max(4096).default(320),
    /** Greyscale reviewer copies: colour adds distress and rarely the decision. */
    greyscale: z.boolean().default(true),
    /** Gaussian blur (sigma, px at `width`) of the rendition shown by default; 12 keeps the layout of a scene, no detail. */
    blurSigma: z.number().min(1).max(100).default(12),
    /** Also store a clear (unblurred) reviewer copy, which a console shows only after a deliberate, counted reveal. */
    clearCopy: z.boolean().default(true),
    /** JPEG quality of the reviewer copies. */
    jpegQuality: z.number().int().min(30).max(100).default(75),
  })
  .superRefine((e, ctx) => {
    const ids = Object.keys(e.keys);
    if (e.keyId !== undefined && !ids.includes(e.keyId)) {
      ctx.addIssue({ code: 'custom', path: ['keyId'], message: `'${e.keyId}' is not one of evidence.keys (${ids.join(', ') || 'none'})` });
    }
    if (e.keyId === undefined && ids.length > 1) {
      ctx.addIssue({ code: 'custom', path: ['keyId'], message: 'several evidence.keys: name the one that seals new evidence' });
    }
  });

export type EvidenceSectionValue = z.output<typeof EvidenceSection>;

/** What the evidence stage and readers take: keys decoded once, the sealing key chosen. */
export interface EvidenceOptions {
  /** False when disabled or when no key is configured (nothing unencrypted is ever stored). */
  readonly enabled: boolean;
  /** Every configured key, for reading. */
  readonly keys: ReadonlyMap<string, Uint8Array>;
  /** The key that seals new evidence. */
  readonly sealWith?: { readonly id: string; readonly key: Uint8Array };
  readonly storyboardFrames: number;
  readonly reviewerBucket: string;
  readonly reviewerTtlMs: number;
  readonly preservedBucket: string;
  readonly preserveTtlMs: number;
  readonly preserveOriginals: boolean;
  readonly width: number;
  readonly greyscale: boolean;
  readonly blurSigma: number;
  readonly clearCopy: boolean;
  readonly jpegQuality: number;
}

export function evidenceOptions(e: EvidenceSectionValue): EvidenceOptions {
  const keys = new Map(Object.entries(e.keys).map(([id, b64]) => [id, new Uint8Array(Buffer.from(b64, 'base64'))]));
  const id = e.keyId ?? (keys.size === 1 ? [...keys.keys()][0] : undefined);
  const sealWith = id === undefined ? undefined : { id, key: keys.get(id)! };
  return {
    enabled: e.enabled && sealWith !== undefined,
    keys,
    ...(sealWith ? { sealWith } : {}),
    storyboardFrames: e.storyboardFrames,
    reviewerBucket: e.reviewerBucket,
    reviewerTtlMs: e.reviewerDays * DAY_MS,
    preservedBucket: e.preservedBucket,
    preserveTtlMs: e.preserveDays * DAY_MS,
    preserveOriginals: e.preserveOriginals,
    width: e.width,
    greyscale: e.greyscale,
    blurSigma: e.blurSigma,
    clearCopy: e.clearCopy,
    jpegQuality: e.jpegQuality,
  };
}
