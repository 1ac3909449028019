import { z } from 'zod';

const EvidenceKeySchema = z
  .string()
  .refine(
    (v) => /^[A-Za-z0-9+/]{43}=$/.test(v) && Buffer.from(v, 'base64').length === 32,
    'must be base64 of exactly 32 bytes (openssl rand -base64 32)',
  );

/** Evidence at rest (config section `evidence`): read by the console, written by the worker (issue 10). */
export const EvidenceSection = z.strictObject({
  /**
   * AES-256-GCM keys for evidence at rest, by id: base64 of 32 random bytes
   * (`openssl rand -base64 32`). Several ids so keys rotate: objects name the key that sealed
   * them (src/domain/evidence-envelope.ts). Never logged.
   */
  keys: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'key id: 1-64 of A-Z a-z 0-9 _ -'), EvidenceKeySchema).default({}),
});

export type EvidenceConfig = z.output<typeof EvidenceSection>;
