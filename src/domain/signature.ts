import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed webhooks, both ways: the generic ingest signs its hook calls to the bridge, and the
 * enforcer signs its kick calls to a generic ingest. HMAC-SHA256 over `<timestamp>.<body>`, so a
 * captured request cannot be replayed outside the tolerance window nor its body swapped; the
 * timestamp is Unix seconds. Headers as in the README.
 */
export const SIGNATURE_HEADER = 'x-streamscreen-signature';
export const TIMESTAMP_HEADER = 'x-streamscreen-timestamp';
const VERSION = 'v1';

export function sign(secret: string, timestampSec: number, body: string): string {
  return `${VERSION}=${createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex')}`;
}

export function signedHeaders(secret: string, body: string, nowMs = Date.now()): Record<string, string> {
  const ts = Math.floor(nowMs / 1000);
  return { [TIMESTAMP_HEADER]: String(ts), [SIGNATURE_HEADER]: sign(secret, ts, body) };
}

export type SignatureCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export function verifySignature(
  secret: string,
  headers: { readonly timestamp?: string; readonly signature?: string },
  body: string,
  toleranceMs: number,
  nowMs = Date.now(),
): SignatureCheck {
  if (!headers.timestamp || !headers.signature) return { ok: false, reason: `missing ${TIMESTAMP_HEADER} or ${SIGNATURE_HEADER}` };
  if (!/^\d{1,12}$/.test(headers.timestamp)) return { ok: false, reason: `${TIMESTAMP_HEADER} must be Unix seconds` };
  const ts = Number(headers.timestamp);
  if (Math.abs(nowMs - ts * 1000) > toleranceMs) return { ok: false, reason: 'timestamp outside the replay window' };
  // Several signatures may be sent during a key rotation: any valid one will do.
  const offered = headers.signature.split(',').map((s) => s.trim());
  const expected = sign(secret, ts, body);
  return offered.some((s) => safeEqual(s, expected)) ? { ok: true } : { ok: false, reason: 'signature does not match' };
}

/**
 * Constant-time string comparison. Both sides are digested first, so the comparison time depends
 * on neither the secret's length nor how much of it a guess got right.
 */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
