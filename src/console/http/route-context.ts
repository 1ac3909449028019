import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleConfig, Role } from '../../config/index.js';
import type { Logger } from '../../domain/logger.js';
import type { Session, SessionStore } from '../auth/sessions.js';
import type { ConsoleService } from '../console-service.js';
import type { IdentityResolver } from './identity-resolver.js';

export const SESSION_COOKIE = 'ss_session';
export const LOGIN_COOKIE = 'ss_login';

export interface ConsoleServerDeps {
  readonly config: ConsoleConfig;
  readonly service: ConsoleService;
  readonly sessions: SessionStore;
  /** Folder with index.html, app.js and app.css (the esbuild bundle). */
  readonly assetsDir: string;
  readonly logger: Logger;
}

export interface RouteContext extends ConsoleServerDeps {
  readonly identities: IdentityResolver;
  /** Sends 401/403 and returns undefined unless the request's session has `role`. */
  requireRole(req: FastifyRequest, reply: FastifyReply, role: Role): Session | undefined;
  setSessionCookie(reply: FastifyReply, session: Session): void;
}
