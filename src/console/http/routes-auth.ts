import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { token } from '../auth/sessions.js';
import type { Session } from '../auth/sessions.js';
import { SESSION_COOKIE, LOGIN_COOKIE, type RouteContext } from './route-context.js';
import { refuse } from './security.js';

const LoginSchema = z.strictObject({ username: z.string().min(1).max(128), password: z.string().min(1).max(1024) });

export function registerAuthRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { config } = ctx;

  const sessionView = (s: Session) => ({
    authenticated: true,
    user: { id: s.identity.id, name: s.identity.name, roles: s.identity.roles, via: s.identity.via, wellness: s.identity.wellness },
    csrfToken: s.csrfToken,
    expiresAt: new Date(s.expiresAt).toISOString(),
  });

  /**
   * Who am I, and the token for my next state-changing request. Logged out, it issues the
   * pre-session login token: the same value in a signed HttpOnly cookie and in the body, which
   * the login request must repeat in its header (a login form posted from elsewhere has neither).
   */
  app.get('/api/session', async (req, reply) => {
    if (req.consoleSession) return sessionView(req.consoleSession);
    const loginToken = token();
    void reply.setCookie(LOGIN_COOKIE, loginToken, {
      signed: true,
      httpOnly: true,
      sameSite: 'strict',
      secure: config.secureCookies,
      path: '/api/login',
      maxAge: 3600,
    });
    return { authenticated: false, csrfToken: loginToken, passwordLogin: config.accounts.length > 0 };
  });

  app.post(
    '/api/login',
    {
      config: {
        rateLimit: {
          max: config.login.maxAttempts,
          timeWindow: config.login.windowMs,
          // Keyed by address AND account, after the body is parsed: guessing one account's password
          // is slowed, while a team signing in from one office address (NAT, the proxy) is not.
          hook: 'preHandler',
          keyGenerator: (req) => `${req.ip}\n${loginName(req.body)}`,
        },
      },
    },
    async (req, reply) => {
      const body = LoginSchema.safeParse(req.body);
      if (!body.success) return refuse(reply, 400, 'bad_request', 'username and password required');
      const identity = await ctx.identities.login(body.data.username, body.data.password);
      if (!identity) {
        req.log.warn({ username: body.data.username.slice(0, 128) }, 'failed login');
        return refuse(reply, 401, 'bad_credentials', 'wrong username or password');
      }
      // A fresh id on every login: a session id planted before login is worth nothing after it.
      if (req.consoleSession) ctx.sessions.delete(req.consoleSession.id);
      const session = ctx.sessions.create(identity);
      ctx.setSessionCookie(reply, session);
      void reply.clearCookie(LOGIN_COOKIE, { path: '/api/login' });
      req.log.info({ user: identity.id }, 'logged in');
      return sessionView(session);
    },
  );

  app.post('/api/logout', async (req, reply) => {
    if (req.consoleSession) ctx.sessions.delete(req.consoleSession.id);
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { authenticated: false };
  });
}

function loginName(body: unknown): string {
  const name = typeof body === 'object' && body !== null ? (body as { username?: unknown }).username : undefined;
  return typeof name === 'string' ? name.slice(0, 128) : '';
}
