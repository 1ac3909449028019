import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkCaller } from '../../src/bridge/caller-auth.js';
import { createReplayGuard } from '../../src/bridge/replay-guard.js';
import { safeEqual, sign, signedHeaders, verifySignature } from '../../src/domain/signature.js';

const secret = 'a-long-enough-secret';
const opts = () => ({ toleranceMs: 300_000, replay: createReplayGuard(300_000) });

describe('token callers (nginx-rtmp, SRS, MediaMTX)', () => {
  it('accepts the secret as ?token= or as a bearer header, and nothing else', () => {
    expect(checkCaller('token', secret, { token: secret, rawBody: '' }, opts())).toEqual({ ok: true });
    expect(checkCaller('token', secret, { authorization: `Bearer ${secret}`, rawBody: '' }, opts())).toEqual({ ok: true });
    expect(checkCaller('token', secret, { token: `${secret}x`, rawBody: '' }, opts())).toEqual({ ok: false, reason: 'wrong token' });
    expect(checkCaller('token', secret, { rawBody: '' }, opts())).toMatchObject({ ok: false, reason: expect.stringMatching(/no token/) });
    // The header wins over the query: a wrong bearer is not rescued by a right token.
    expect(checkCaller('token', secret, { token: secret, authorization: 'Bearer nope', rawBody: '' }, opts()).ok).toBe(false);
  });

  it('compares in constant time through digests: equal strings only', () => {
    fc.assert(fc.property(fc.string(), fc.string(), (a, b) => safeEqual(a, b) === (a === b)));
  });
});

describe('signed callers (generic webhook)', () => {
  const body = JSON.stringify({ event: 'publish', name: 'k' });
  const now = Date.parse('2026-05-01T12:00:00Z');

  it('accepts a fresh signature once, refuses the replay of the same request', () => {
    const h = signedHeaders(secret, body, now);
    const o = { ...opts(), nowMs: now };
    const creds = { timestamp: h['x-streamscreen-timestamp'], signature: h['x-streamscreen-signature'], rawBody: body };
    expect(checkCaller('signed', secret, creds, o)).toEqual({ ok: true });
    expect(checkCaller('signed', secret, creds, o)).toEqual({ ok: false, reason: 'signature already used' });
  });

  it('refuses a timestamp outside the window, a changed body, a wrong key, a missing header', () => {
    const ts = Math.floor(now / 1000);
    const check = (t: number, sig: string, b = body) => verifySignature(secret, { timestamp: String(t), signature: sig }, b, 300_000, now);
    expect(check(ts - 301, sign(secret, ts - 301, body))).toEqual({ ok: false, reason: 'timestamp outside the replay window' });
    expect(check(ts + 301, sign(secret, ts + 301, body)).ok).toBe(false);
    expect(check(ts - 299, sign(secret, ts - 299, body))).toEqual({ ok: true });
    expect(check(ts, sign(secret, ts, body), body.replace('k', 'j'))).toEqual({ ok: false, reason: 'signature does not match' });
    expect(check(ts, sign('another-long-secret', ts, body)).ok).toBe(false);
    expect(verifySignature(secret, { timestamp: String(ts) }, body, 300_000, now).ok).toBe(false);
  });

  it('accepts any of several signatures (key rotation)', () => {
    const ts = Math.floor(now / 1000);
    const both = `${sign('old-secret-old-secret', ts, body)}, ${sign(secret, ts, body)}`;
    expect(verifySignature(secret, { timestamp: String(ts), signature: both }, body, 300_000, now)).toEqual({ ok: true });
  });
});

describe('replay guard', () => {
  it('forgets a signature once it has left the window, and stays bounded', () => {
    const g = createReplayGuard(1000, 3);
    expect(g.firstSeen('a', 0)).toBe(true);
    expect(g.firstSeen('a', 1000)).toBe(false);
    expect(g.firstSeen('a', 2001)).toBe(true);
    for (const s of ['b', 'c', 'd', 'e']) g.firstSeen(s, 2002);
    // Bounded at 3: the oldest entries went first.
    expect(g.firstSeen('a', 2003)).toBe(true);
  });
});
