import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Headers on every response. The front end is one bundled script and one stylesheet from this
 * origin, so the policy allows nothing else; images are same-origin or blob: (a revealed frame
 * is fetched by POST and shown from a blob URL, so it never sits at a GET address).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

/** Nothing from the console is cached: queue state goes stale and evidence must not sit on disk. */
export const NO_STORE = 'no-store, max-age=0';

export const CSRF_HEADER = 'x-csrf-token';

export type CsrfVerdict = { readonly ok: true } | { readonly ok: false; readonly why: string };

/**
 * Checks a state-changing request before any handler runs. Three independent layers, so one
 * browser quirk cannot open the door:
 * 1. Fetch metadata and Origin: a cross-site request is refused outright.
 * 2. JSON only: an HTML form on another site cannot send application/json without a CORS
 *    preflight, which this server never grants.
 * 3. Synchronizer token: the header must equal the secret token of the session (or, for login,
 *    the signed pre-session cookie), compared in constant time.
 */
export function checkStateChange(req: FastifyRequest, expectedOrigin: string, expectedToken: string | undefined): CsrfVerdict {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return { ok: false, why: `cross-site request (sec-fetch-site: ${String(site)})` };
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== expectedOrigin) return { ok: false, why: `origin ${origin} is not ${expectedOrigin}` };
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) return { ok: false, why: 'state-changing requests must be application/json' };
  const sent = req.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || !expectedToken || !equalTokens(sent, expectedToken)) {
    return { ok: false, why: 'missing or wrong CSRF token' };
  }
  return { ok: true };
}

export function equalTokens(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function expectedOriginOf(req: FastifyRequest, publicOrigin: string | undefined): string {
  if (publicOrigin) return new URL(publicOrigin).origin;
  return `${req.protocol}://${req.host}`;
}

export function refuse(reply: FastifyReply, status: number, error: string, message: string): FastifyReply {
  return reply.code(status).header('cache-control', NO_STORE).send({ error, message });
}
