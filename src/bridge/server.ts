import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { IngestConfig } from '../config/index.js';
import type { Emitter } from '../domain/hooks.js';
import type { Logger } from '../domain/logger.js';
import { checkCaller, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './caller-auth.js';
import type { BridgeEvents, HookOutcome } from './events.js';
import { adapterFor, type HookReply, type HookVerdict } from './hooks/index.js';
import type { ReplayGuard } from './replay-guard.js';
import type { Bridge } from './service.js';

export interface BridgeServerDeps {
  readonly ingests: readonly IngestConfig[];
  readonly bridge: Bridge;
  readonly replay: ReplayGuard;
  readonly signatureToleranceMs: number;
  readonly bodyLimitBytes: number;
  readonly logger: Logger;
  readonly events: Emitter<BridgeEvents>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The body as received, for signature checks. */
    rawBody?: string;
  }
}

/**
 * The hook endpoint every ingest calls: `POST /hooks/<ingest id>[/<event>]`. The ingest's
 * configured kind decides how the call is authenticated, read and answered; the answer is the
 * bridge's verdict. Fastify's own request log is off: hook URLs carry the ingest's secret.
 */
export async function buildBridgeServer(deps: BridgeServerDeps): Promise<FastifyInstance> {
  const byId = new Map(deps.ingests.map((i) => [i.id, i]));
  const log = deps.logger.child({ component: 'bridge-http' });
  const app = Fastify({ logger: false, bodyLimit: deps.bodyLimitBytes, return503OnClosing: true });
  await app.register(formbody);
  // JSON is kept as text too: the generic webhook's signature covers the exact bytes.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req: FastifyRequest, body: string, done) => {
    req.rawBody = body;
    if (body.trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(body));
    } catch {
      const err = Object.assign(new Error('body is not valid JSON'), { statusCode: 400 });
      done(err, undefined);
    }
  });

  const handler = async (
    req: FastifyRequest<{ Params: { ingest: string; event?: string }; Querystring: Record<string, string | string[]> }>,
  ): Promise<{ reply: HookReply; outcome: HookOutcome; kind?: IngestConfig['kind'] }> => {
    const ingest = byId.get(req.params.ingest);
    if (!ingest) return { reply: { status: 404, body: 'unknown ingest\n', contentType: 'text/plain' }, outcome: 'invalid' };
    const adapter = adapterFor(ingest.kind);
    const answer = (verdict: HookVerdict, outcome: HookOutcome) => ({ reply: adapter.reply(verdict), outcome, kind: ingest.kind });
    const { token, ...query } = flatQuery(req.query);
    const caller = checkCaller(
      ingest.kind === 'generic' ? 'signed' : 'token',
      ingest.secret,
      {
        token,
        authorization: header(req, 'authorization'),
        timestamp: header(req, TIMESTAMP_HEADER),
        signature: header(req, SIGNATURE_HEADER),
        rawBody: req.rawBody ?? '',
      },
      { toleranceMs: deps.signatureToleranceMs, replay: deps.replay },
    );
    if (!caller.ok) {
      log.warn({ ingest: ingest.id, ip: req.ip, reason: caller.reason }, 'hook call refused: caller not authenticated');
      return answer({ allow: false, reason: 'unauthorized', detail: caller.reason }, 'unauthorized');
    }
    const parsed = adapter.parse({ event: req.params.event, body: req.body, query });
    if (!parsed.ok) {
      log.warn({ ingest: ingest.id, issues: parsed.issues }, 'hook call refused: not what this ingest sends');
      return answer({ allow: false, reason: 'invalid', detail: parsed.issues.join('; ') }, 'invalid');
    }
    const result = await deps.bridge.handle(ingest, parsed.hook);
    return answer(result.verdict, result.outcome);
  };

  const route = async (
    req: FastifyRequest<{ Params: { ingest: string; event?: string }; Querystring: Record<string, string | string[]> }>,
    res: import('fastify').FastifyReply,
  ) => {
    const started = performance.now();
    const { reply, outcome, kind } = await handler(req);
    if (kind) deps.events.emit('hook', { kind, outcome, seconds: (performance.now() - started) / 1000 });
    return res.status(reply.status).type(reply.contentType).send(reply.body);
  };
  app.post('/hooks/:ingest', route);
  app.post('/hooks/:ingest/:event', route);
  return app;
}

function flatQuery(q: Record<string, string | string[]>): Record<string, string> {
  return Object.fromEntries(Object.entries(q).map(([k, v]) => [k, Array.isArray(v) ? (v[0] ?? '') : v]));
}

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
