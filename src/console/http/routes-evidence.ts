import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CaseIdSchema } from '../../contracts/index.js';
import { unwrap } from './outcome.js';
import { NO_STORE, refuse } from './security.js';
import type { RouteContext } from './route-context.js';

const FrameParams = z.strictObject({ caseId: CaseIdSchema, seq: z.coerce.number().int().min(0) });
const OriginalBody = z.strictObject({ why: z.string().max(2000) });

/**
 * Evidence goes only to logged-in reviewers and is never cached (no-store on every response).
 * The thumbnail is a GET (an <img>); anything clear is a POST with the CSRF token, so no link,
 * prefetch or image tag on any page can spend a reviewer's budget or pull an original.
 */
export function registerEvidenceRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { service } = ctx;

  app.get('/api/cases/:caseId/frames/:seq/thumbnail', async (req, reply) => {
    const s = ctx.requireRole(req, reply, 'reviewer');
    if (!s) return reply;
    const p = FrameParams.safeParse(req.params);
    if (!p.success) return refuse(reply, 400, 'bad_request', 'bad case id or frame');
    const bytes = unwrap(reply, await service.thumbnail(p.data.caseId, p.data.seq, s.identity));
    return bytes ? reply.header('cache-control', NO_STORE).type('image/jpeg').send(bytes) : reply;
  });

  for (const which of ['reviewer', 'original'] as const) {
    const path = which === 'reviewer' ? 'reveal' : 'original';
    app.post(`/api/cases/:caseId/frames/:seq/${path}`, async (req, reply) => {
      const s = ctx.requireRole(req, reply, 'reviewer');
      if (!s) return reply;
      const p = FrameParams.safeParse(req.params);
      const b = which === 'original' ? OriginalBody.safeParse(req.body) : undefined;
      if (!p.success || (b && !b.success)) return refuse(reply, 400, 'bad_request', 'bad case id, frame or reason');
      const r = unwrap(reply, await service.reveal(p.data.caseId, p.data.seq, s.identity, which, b?.data?.why));
      if (!r) return reply;
      return reply
        .header('cache-control', NO_STORE)
        .header('x-exposure-used', String(r.exposure.used))
        .header('x-exposure-budget', String(r.exposure.budget))
        .type(r.contentType)
        .send(r.bytes);
    });
  }
}
