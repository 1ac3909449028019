import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { StreamscreenError, type ErrorOptions } from './errors.js';

/**
 * Evidence encrypted at rest: the bytes of an Object Store object whose EvidenceRef says
 * `encryption: 'aes-256-gcm'`. Written by the worker (issue 10), read by the console and
 * `streamscreen evidence export`; both sides use these two functions, so there is one format.
 *
 *   offset      length  field
 *   0           4       magic "SSEV" (ASCII)
 *   4           1       format version, 1
 *   5           1       key id length n (1-64)
 *   6           n       key id (ASCII A-Z a-z 0-9 _ -): which configured key encrypted it
 *   6+n         12      nonce (random per object; 96 bits, GCM's native size)
 *   18+n        L       ciphertext (AES-256-GCM; L = image length)
 *   18+n+L      16      GCM authentication tag
 *
 * The header (bytes 0 to 18+n, nonce included) is the additional authenticated data, so a
 * changed key id or version fails authentication like a changed byte of ciphertext. A random
 * 96-bit nonce per object keeps the chance of a repeat negligible for the number of evidence
 * objects one key will ever encrypt (far below the 2^32 NIST sets for random nonces); rotate
 * keys by adding a new id to config, old objects stay readable under their own id.
 */
export const ENVELOPE_MAGIC = Buffer.from('SSEV', 'ascii');
export const ENVELOPE_VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface EvidenceKey {
  readonly id: string;
  /** 32 bytes. */
  readonly key: Uint8Array;
}

export type EvidenceErrorCode =
  | 'evidence_envelope_invalid'
  | 'evidence_key_unknown'
  | 'evidence_auth_failed'
  | 'evidence_digest_mismatch'
  | 'evidence_missing'
  | 'evidence_read_failed';

/** Evidence that cannot be read as its reference says: never retried blindly, never shown. */
export class EvidenceError extends StreamscreenError {
  override name = 'EvidenceError';
  constructor(
    override readonly code: EvidenceErrorCode,
    message: string,
    options: ErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

export function sealEvidence(plain: Uint8Array, key: EvidenceKey, nonce: Uint8Array = randomBytes(NONCE_BYTES)): Buffer {
  checkKey(key);
  if (nonce.length !== NONCE_BYTES) throw new RangeError(`nonce must be ${NONCE_BYTES} bytes`);
  const id = Buffer.from(key.id, 'ascii');
  const header = Buffer.concat([ENVELOPE_MAGIC, Buffer.from([ENVELOPE_VERSION, id.length]), id, nonce]);
  const cipher = createCipheriv('aes-256-gcm', key.key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}

/** The key id an envelope names, without decrypting (to pick the key, or to report which is missing). */
export function envelopeKeyId(envelope: Uint8Array): string {
  return parseHeader(Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength)).keyId;
}

export function openEvidence(envelope: Uint8Array, keys: ReadonlyMap<string, Uint8Array>): Buffer {
  const buf = Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength);
  const { keyId, headerLength } = parseHeader(buf);
  const key = keys.get(keyId);
  if (!key) throw new EvidenceError('evidence_key_unknown', `evidence was encrypted with key '${keyId}', which is not configured`);
  if (key.length !== 32) throw new EvidenceError('evidence_key_unknown', `key '${keyId}' is not 32 bytes`);
  const nonce = buf.subarray(headerLength - NONCE_BYTES, headerLength);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(buf.subarray(0, headerLength));
  decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(buf.subarray(headerLength, buf.length - TAG_BYTES)), decipher.final()]);
  } catch (err) {
    // GCM says only "unable to authenticate": a wrong key and a changed byte look the same.
    throw new EvidenceError('evidence_auth_failed', `evidence under key '${keyId}' failed authentication (wrong key or altered object)`, {
      cause: err,
    });
  }
}

function parseHeader(buf: Buffer): { keyId: string; headerLength: number } {
  const invalid = (why: string) => new EvidenceError('evidence_envelope_invalid', `not an evidence envelope: ${why}`);
  if (buf.length < 6 || !buf.subarray(0, 4).equals(ENVELOPE_MAGIC)) throw invalid('magic missing');
  if (buf[4] !== ENVELOPE_VERSION) throw invalid(`version ${buf[4]} (this build reads ${ENVELOPE_VERSION})`);
  const n = buf[5]!;
  const headerLength = 6 + n + NONCE_BYTES;
  if (n < 1 || n > 64 || buf.length < headerLength + TAG_BYTES) throw invalid('truncated');
  const keyId = buf.subarray(6, 6 + n).toString('ascii');
  if (!KEY_ID.test(keyId)) throw invalid('bad key id');
  return { keyId, headerLength };
}

function checkKey(key: EvidenceKey): void {
  if (!KEY_ID.test(key.id)) throw new RangeError('key id must be 1-64 of A-Z a-z 0-9 _ -');
  if (key.key.length !== 32) throw new RangeError('AES-256 needs a 32-byte key');
}
