import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Role } from '../../config/index.js';
import { EvidenceError } from '../../domain/evidence-envelope.js';
import { PublishError, errorCode } from '../../domain/errors.js';
import { hasRole } from '../auth/identity.js';
import type { Session } from '../auth/sessions.js';
import { IdentityResolver } from './identity-resolver.js';
import { LOGIN_COOKIE, SESSION_COOKIE, type ConsoleServerDeps, type RouteContext } from './route-context.js';
import { registerAdminRoutes } from './routes-admin.js';
import { registerAuthRoutes } from './routes-auth.js';
import { registerCaseRoutes } from './routes-cases.js';
import { registerEvidenceRoutes } from './routes-evidence.js';
import { NO_STORE, SECURITY_HEADERS, checkStateChange, expectedOriginOf, refuse } from './security.js';

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession: Session | null;
  }
}

export async function buildConsoleServer(deps: ConsoleServerDeps): Promise<FastifyInstance> {
  const { config } = deps;
  // Typed as Fastify's logger so the instance keeps Fastify's default generics (pino's is a superset).
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance,
    // X-Forwarded-* only from the configured proxies (client addresses for the login rate limit).
    trustProxy: config.trustedHeader.proxies,
    bodyLimit: 64 * 1024,
    // Event streams never go idle; without this, close() would wait for every browser to leave.
    forceCloseConnections: true,
  });
  await app.register(fastifyCookie, { secret: config.sessionSecret!, hook: 'onRequest' });
  await app.register(fastifyRateLimit, { global: false });
  await app.register(fastifyStatic, { root: deps.assetsDir, prefix: '/assets/', index: false, cacheControl: false });
  app.decorateRequest('consoleSession', null);

  const identities = new IdentityResolver(config);
  const setSessionCookie = (reply: FastifyReply, session: Session): void => {
    void reply.setCookie(SESSION_COOKIE, session.id, {
      signed: true,
      httpOnly: true,
      sameSite: 'strict',
      secure: config.secureCookies,
      path: '/',
      maxAge: Math.floor(config.sessionTtlMs / 1000),
    });
  };

  app.addHook('onRequest', async (req, reply) => {
    const raw = req.cookies[SESSION_COOKIE];
    const unsigned = raw ? req.unsignCookie(raw) : undefined;
    let session = unsigned?.valid && unsigned.value ? deps.sessions.get(unsigned.value) : undefined;
    const asserted = identities.fromProxy(req.socket.remoteAddress, req.headers);
    if (asserted && (!session || session.identity.id !== asserted.id || session.identity.via !== 'proxy')) {
      // The proxy is the authority: a new or different user behind it gets a fresh session.
      if (session) deps.sessions.delete(session.id);
      session = deps.sessions.create(asserted);
      setSessionCookie(reply, session);
    }
    req.consoleSession = session ?? null;
  });

  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) void reply.header(k, v);
    if (!reply.hasHeader('cache-control')) void reply.header('cache-control', NO_STORE);
    return payload;
  });

  // CSRF: every state-changing request, whatever its route, passes one check before its body is
  // even parsed (a form post is refused as a CSRF attempt, not as an unsupported media type).
  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'GET' || req.method === 'HEAD') return;
    const isLogin = req.routeOptions.url === '/api/login';
    let token: string | undefined;
    if (isLogin) {
      const raw = req.cookies[LOGIN_COOKIE];
      const unsigned = raw ? req.unsignCookie(raw) : undefined;
      token = unsigned?.valid ? (unsigned.value ?? undefined) : undefined;
    } else {
      token = req.consoleSession?.csrfToken;
    }
    const verdict = checkStateChange(req, expectedOriginOf(req, config.publicOrigin), token);
    if (!verdict.ok) {
      req.log.warn({ url: req.url, why: verdict.why }, 'refused a state-changing request (CSRF check)');
      return refuse(reply, 403, 'csrf', verdict.why);
    }
  });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof EvidenceError) {
      req.log.error({ code: err.code, err }, 'evidence could not be served');
      return refuse(reply, 502, err.code, 'this evidence could not be read safely; it was not shown');
    }
    if (err instanceof PublishError) {
      req.log.error({ err }, 'NATS did not acknowledge');
      return refuse(reply, 503, 'nats_unavailable', 'NATS did not acknowledge; nothing was recorded, try again');
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return refuse(reply, status, 'bad_request', (err as Error).message);
    req.log.error({ err, code: errorCode(err) }, 'request failed');
    return refuse(reply, 500, 'internal', 'internal error');
  });

  const requireRole = (req: FastifyRequest, reply: FastifyReply, role: Role): Session | undefined => {
    const s = req.consoleSession;
    if (!s) {
      void refuse(reply, 401, 'unauthenticated', 'log in first');
      return undefined;
    }
    if (!hasRole(s.identity, role)) {
      void refuse(reply, 403, 'forbidden', `needs the ${role} role`);
      return undefined;
    }
    return s;
  };

  const indexHtml = await readFile(join(deps.assetsDir, 'index.html'));
  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(indexHtml));
  app.get('/healthz', async () => ({ ok: true }));

  const ctx: RouteContext = { ...deps, identities, requireRole, setSessionCookie };
  registerAuthRoutes(app, ctx);
  registerCaseRoutes(app, ctx);
  registerEvidenceRoutes(app, ctx);
  registerAdminRoutes(app, ctx);
  return app;
}
