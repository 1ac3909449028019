import { createHash } from 'node:crypto';
import type { ObjectStore } from '@nats-io/obj';
import { StreamscreenError } from '../domain/errors.js';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface VerifiedObject {
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly metadata: Readonly<Record<string, string>>;
}

export class ObjectIntegrityError extends StreamscreenError {
  override name = 'ObjectIntegrityError';
  constructor(message: string) {
    super('object_integrity', message, { retryable: false });
  }
}

/**
 * Stores bytes with their SHA-256 in the object's metadata (kept by servers before 2.10 too), so a
 * reader can prove it got exactly what was written, whoever wrote it.
 */
export async function putVerified(
  os: ObjectStore,
  name: string,
  bytes: Uint8Array,
  metadata: Record<string, string> = {},
): Promise<string> {
  const sha256 = sha256Hex(bytes);
  await os.putBlob({ name, metadata: { ...metadata, sha256 } }, bytes);
  return sha256;
}

/**
 * Reads an object whole and checks its bytes against the SHA-256 recorded at put time (or the one
 * the caller expects, e.g. from an event). Null when there is no such object.
 */
export async function getVerified(os: ObjectStore, name: string, expectedSha256?: string): Promise<VerifiedObject | null> {
  const info = await os.info(name);
  if (!info || info.deleted) return null;
  const bytes = await os.getBlob(name);
  if (!bytes) return null;
  const sha256 = sha256Hex(bytes);
  const recorded = info.metadata?.sha256;
  const want = expectedSha256 ?? recorded;
  if (!want) throw new ObjectIntegrityError(`object ${name} has no recorded sha256`);
  if (want !== sha256) throw new ObjectIntegrityError(`object ${name}: sha256 ${sha256} does not match the recorded ${want}`);
  return { bytes, sha256, metadata: info.metadata ?? {} };
}
