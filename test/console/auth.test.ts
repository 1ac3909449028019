import { describe, expect, it } from 'vitest';
import { ConsoleConfigSchema } from '../../src/config/console-schema.js';
import { consoleConfigIssues } from '../../src/config/index.js';
import { hasRole } from '../../src/console/auth/identity.js';
import { hashPassword, verifyPassword } from '../../src/console/auth/passwords.js';
import { SessionStore } from '../../src/console/auth/sessions.js';
import { IdentityResolver } from '../../src/console/http/identity-resolver.js';
import { checkStateChange } from '../../src/console/http/security.js';

const cheap = { N: 1024, r: 8, p: 1 };

describe('passwords (scrypt)', () => {
  it('verifies the right password only; every hash is salted', async () => {
    const a = await hashPassword('s3cret', cheap);
    const b = await hashPassword('s3cret', cheap);
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('s3cret', a)).toBe(true);
    expect(await verifyPassword('s3cret ', a)).toBe(false);
    expect(await verifyPassword('s3cret', undefined)).toBe(false);
    expect(await verifyPassword('s3cret', 'scrypt$3$8$1$AAAA$AAAA')).toBe(false); // N not a power of two: refused, not run
  });

  it('the default cost is the OWASP scrypt setting (N=2^15, r=8, p=1)', async () => {
    expect(await hashPassword('x')).toMatch(/^scrypt\$32768\$8\$1\$/);
  });
});

describe('sessions', () => {
  it('expire, and are gone after delete', () => {
    let now = 0;
    const store = new SessionStore(1000, () => now);
    const identity = {
      id: 'a',
      name: 'A',
      roles: ['reviewer'] as const,
      via: 'password' as const,
      wellness: ConsoleConfigSchema.parse({}).wellness,
    };
    const s = store.create(identity);
    expect(s.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(store.get(s.id)).toBe(s);
    now = 1000;
    expect(store.get(s.id)).toBeUndefined();
    const t = store.create(identity);
    store.delete(t.id);
    expect(store.get(t.id)).toBeUndefined();
  });
});

describe('identities', () => {
  const config = ConsoleConfigSchema.parse({
    trustedHeader: { enabled: true, proxies: ['10.0.0.5'] },
    wellness: { exposureBudget: 30 },
    accounts: [{ id: 'pat@example.org', name: 'Pat', passwordHash: 'scrypt$1024$8$1$AAAA$AAAA', wellness: { exposureBudget: 5 } }],
  });
  const resolver = new IdentityResolver(config);

  it('takes a proxy identity only from a configured proxy, with known roles only', () => {
    const headers = { 'x-forwarded-user': 'pat@example.org', 'x-forwarded-groups': 'lead, root' };
    expect(resolver.fromProxy('10.0.0.6', headers)).toBeUndefined();
    const pat = resolver.fromProxy('::ffff:10.0.0.5', headers)!;
    expect([pat.id, pat.name, pat.roles, pat.via, pat.wellness.exposureBudget]).toEqual(['pat@example.org', 'Pat', ['lead'], 'proxy', 5]);
    expect(resolver.fromProxy('10.0.0.5', { 'x-forwarded-user': 'sam' })!.roles).toEqual(['reviewer']);
    expect(resolver.fromProxy('10.0.0.5', {})).toBeUndefined();
    expect(new IdentityResolver(ConsoleConfigSchema.parse({})).fromProxy('127.0.0.1', headers)).toBeUndefined(); // off by default
  });

  it('ranks roles: a lead can do what a reviewer can, not what an admin can', () => {
    const lead = resolver.fromProxy('10.0.0.5', { 'x-forwarded-user': 'l', 'x-forwarded-groups': 'lead' })!;
    expect([hasRole(lead, 'reviewer'), hasRole(lead, 'lead'), hasRole(lead, 'admin')]).toEqual([true, true, false]);
  });
});

describe('CSRF check', () => {
  const req = (headers: Record<string, string>) => ({ headers }) as unknown as Parameters<typeof checkStateChange>[0];
  const ok = {
    'content-type': 'application/json',
    'x-csrf-token': 'tok',
    origin: 'https://review.example.org',
    'sec-fetch-site': 'same-origin',
  };
  const origin = 'https://review.example.org';

  it('passes the console page’s own request, and fails every missing or foreign part', () => {
    expect(checkStateChange(req(ok), origin, 'tok')).toEqual({ ok: true });
    const { origin: _o, 'sec-fetch-site': _s, ...bare } = ok; // older browsers send neither
    expect(checkStateChange(req(bare), origin, 'tok').ok).toBe(true);
    expect(checkStateChange(req(ok), origin, undefined).ok).toBe(false); // no session: no token to match
    expect(checkStateChange(req({ ...ok, 'x-csrf-token': 'tok2' }), origin, 'tok').ok).toBe(false);
    expect(checkStateChange(req({ ...ok, origin: 'https://evil.example' }), origin, 'tok').ok).toBe(false);
    expect(checkStateChange(req({ ...ok, 'sec-fetch-site': 'same-site' }), origin, 'tok').ok).toBe(false);
    expect(checkStateChange(req({ ...ok, 'content-type': 'text/plain' }), origin, 'tok').ok).toBe(false);
  });
});

describe('console config', () => {
  it('lists everything the console needs, at once', () => {
    expect(consoleConfigIssues(ConsoleConfigSchema.parse({}))).toEqual([
      expect.stringContaining('console.sessionSecret'),
      expect.stringContaining('console.accounts'),
    ]);
  });

  it('refuses duplicate accounts, bad hashes, short secrets and an offset past the shift', () => {
    const r = ConsoleConfigSchema.safeParse({
      sessionSecret: 'short',
      shiftMs: 60_000,
      shiftOffsetMs: 60_000,
      accounts: [
        { id: 'a', passwordHash: 'plain' },
        { id: 'a', passwordHash: 'scrypt$1024$8$1$AAAA$AAAA' },
      ],
    });
    expect(r.success).toBe(false);
    // Every problem in one round, cross-field rules included.
    expect(r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).sort()).toEqual([
      'accounts.0.passwordHash: must be a scrypt$N$r$p$salt$hash string',
      "accounts: duplicate account id 'a'",
      'sessionSecret: must be at least 32 characters',
      'shiftOffsetMs: must be less than shiftMs',
    ]);
  });
});
