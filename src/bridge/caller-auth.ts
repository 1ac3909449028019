import { safeEqual, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from '../domain/signature.js';
import type { ReplayGuard } from './replay-guard.js';

export interface CallerCredentials {
  /** `?token=` of the hook URL. */
  readonly token?: string;
  readonly authorization?: string;
  readonly timestamp?: string;
  readonly signature?: string;
  /** The body exactly as received (what a signature covers). */
  readonly rawBody: string;
}

export type CallerCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Is this hook call from the ingest? nginx-rtmp, SRS and MediaMTX cannot sign, so they carry
 * the ingest's secret in the hook URL (`?token=`) or an `Authorization: Bearer` header; the
 * generic webhook must be signed (HMAC over timestamp and body, replay window, each signature
 * accepted once). Every comparison is constant-time.
 */
export function checkCaller(
  kind: 'signed' | 'token',
  secret: string,
  credentials: CallerCredentials,
  options: { readonly toleranceMs: number; readonly replay: ReplayGuard; readonly nowMs?: number },
): CallerCheck {
  if (kind === 'signed') {
    const check = verifySignature(
      secret,
      { timestamp: credentials.timestamp, signature: credentials.signature },
      credentials.rawBody,
      options.toleranceMs,
      options.nowMs,
    );
    if (!check.ok) return check;
    return options.replay.firstSeen(credentials.signature!, options.nowMs) ? { ok: true } : { ok: false, reason: 'signature already used' };
  }
  const bearer = /^Bearer\s+(.+)$/i.exec(credentials.authorization ?? '')?.[1]?.trim();
  const offered = bearer ?? credentials.token;
  if (offered === undefined)
    return { ok: false, reason: 'no token: put ?token=<secret> in the hook URL or send Authorization: Bearer <secret>' };
  return safeEqual(offered, secret) ? { ok: true } : { ok: false, reason: 'wrong token' };
}

export { SIGNATURE_HEADER, TIMESTAMP_HEADER };
