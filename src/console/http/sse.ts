import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerEvent } from '../queue/card.js';
import type { ConsoleService } from '../console-service.js';
import type { Session, SessionStore } from '../auth/sessions.js';
import { NO_STORE, SECURITY_HEADERS } from './security.js';

/** Comment lines keep proxies from closing an idle stream (nginx's default read timeout is 60 s). */
const HEARTBEAT_MS = 15_000;

/**
 * Server-sent events, written by hand: the protocol is a content type and `data:` lines, and
 * Fastify's reply.hijack() hands us the socket. The stream ends with the session.
 */
export function openEventStream(
  req: FastifyRequest,
  reply: FastifyReply,
  session: Session,
  service: ConsoleService,
  sessions: SessionStore,
): void {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': NO_STORE,
    connection: 'keep-alive',
    // nginx buffers proxied responses by default, which would hold events back.
    'x-accel-buffering': 'no',
  });
  raw.write('retry: 2000\n\n');
  const send = (e: ServerEvent): void => {
    raw.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  };
  const unsubscribe = service.subscribe(session.identity.id, send);
  const heartbeat = setInterval(() => {
    if (!sessions.get(session.id)) {
      raw.end();
      return;
    }
    raw.write(': keep-alive\n\n');
  }, HEARTBEAT_MS);
  const close = (): void => {
    clearInterval(heartbeat);
    unsubscribe();
  };
  req.raw.on('close', close);
  raw.on('error', close);
}
