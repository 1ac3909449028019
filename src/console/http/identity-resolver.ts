import type { ConsoleAccount, ConsoleConfig, Role } from '../../config/index.js';
import { ROLES } from '../../config/index.js';
import { verifyPassword } from '../auth/passwords.js';
import type { Identity } from '../auth/identity.js';

/** Turns configured accounts and (when enabled) a trusted proxy's headers into identities. */
export class IdentityResolver {
  private readonly accounts: Map<string, ConsoleAccount>;

  constructor(private readonly c: ConsoleConfig) {
    this.accounts = new Map(c.accounts.map((a) => [a.id, a]));
  }

  /** undefined for an unknown account or a wrong password (the same work and answer for both). */
  async login(username: string, password: string): Promise<Identity | undefined> {
    const account = this.accounts.get(username);
    const ok = await verifyPassword(password, account?.passwordHash);
    if (!ok || !account) return undefined;
    return {
      id: account.id,
      name: account.name ?? account.id,
      roles: account.roles,
      via: 'password',
      wellness: { ...this.c.wellness, ...account.wellness },
    };
  }

  /**
   * The identity a trusted reverse proxy asserts, or undefined. Only when enabled and only from a
   * configured proxy address: anyone else could send the same header.
   */
  fromProxy(peer: string | undefined, headers: Readonly<Record<string, string | string[] | undefined>>): Identity | undefined {
    const t = this.c.trustedHeader;
    if (!t.enabled || !peer || !t.proxies.includes(normalisePeer(peer))) return undefined;
    const user = single(headers[t.userHeader.toLowerCase()])?.trim();
    if (!user || user.length > 128) return undefined;
    const asserted = (single(headers[t.rolesHeader.toLowerCase()]) ?? '')
      .split(',')
      .map((r) => r.trim())
      .filter((r): r is Role => (ROLES as readonly string[]).includes(r));
    const account = this.accounts.get(user);
    return {
      id: user,
      name: account?.name ?? user,
      roles: asserted.length > 0 ? asserted : t.defaultRoles,
      via: 'proxy',
      wellness: { ...this.c.wellness, ...account?.wellness },
    };
  }
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** An IPv4 peer on a dual-stack socket reads as ::ffff:127.0.0.1. */
function normalisePeer(peer: string): string {
  return peer.startsWith('::ffff:') ? peer.slice(7) : peer;
}
