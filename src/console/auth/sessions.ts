import { randomBytes } from 'node:crypto';
import type { Identity } from './identity.js';

export interface Session {
  readonly id: string;
  readonly identity: Identity;
  /** Synchronizer token: every state-changing request repeats it in a header. */
  readonly csrfToken: string;
  readonly expiresAt: number;
}

/**
 * Server-side sessions: the cookie holds only a signed random id, so logout and expiry are real
 * (a stolen cookie dies with the session) and no identity claim travels in the cookie. In
 * memory: a restart logs everyone out, which one console per team can afford; several console
 * replicas need sticky sessions (README).
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  create(identity: Identity): Session {
    this.sweep();
    const session: Session = { id: token(), identity, csrfToken: token(), expiresAt: this.now() + this.ttlMs };
    this.sessions.set(session.id, session);
    return session;
  }

  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
  }
}

/** 256 bits from the CSPRNG, URL-safe. */
export function token(): string {
  return randomBytes(32).toString('base64url');
}
