import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { CaseIdSchema, EscalationPrioritySchema, ReviewDecisionKindSchema } from '../../contracts/index.js';
import { unwrap } from './outcome.js';
import { refuse } from './security.js';
import type { RouteContext } from './route-context.js';
import { openEventStream } from './sse.js';

const CaseParams = z.strictObject({ caseId: CaseIdSchema });

const DecisionBody = z.strictObject({
  decision: ReviewDecisionKindSchema,
  note: z.string().max(4000).optional(),
  priority: EscalationPrioritySchema.optional(),
  list: z
    .strictObject({
      id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
      action: z.enum(['kill', 'escalate']),
      label: z.string().max(200).optional(),
    })
    .optional(),
});

export function registerCaseRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { service } = ctx;

  app.get('/api/events', async (req, reply) => {
    const s = ctx.requireRole(req, reply, 'reviewer');
    if (s) openEventStream(req, reply, s, service, ctx.sessions);
  });

  app.get('/api/cases', async (req, reply) => {
    if (!ctx.requireRole(req, reply, 'reviewer')) return reply;
    return { cards: service.cards() };
  });

  app.get('/api/exposure', async (req, reply) => {
    const s = ctx.requireRole(req, reply, 'reviewer');
    if (!s) return reply;
    return service.exposure(s.identity);
  });

  app.post('/api/cases/:caseId/claim', async (req, reply) => {
    const s = ctx.requireRole(req, reply, 'reviewer');
    if (!s) return reply;
    const p = CaseParams.safeParse(req.params);
    if (!p.success) return refuse(reply, 400, 'bad_request', 'bad case id');
    const claim = unwrap(reply, await service.claim(p.data.caseId, s.identity));
    return claim ? { claim } : reply;
  });

  app.post('/api/cases/:caseId/release', async (req, reply) => {
    const s = ctx.requireRole(req, reply, 'reviewer');
    if (!s) return reply;
    const p = CaseParams.safeParse(req.params);
    if (!p.success) return refuse(reply, 400, 'bad_request', 'bad case id');
    return unwrap(reply, await service.release(p.data.caseId, s.identity)) ? { released: true } : reply;
  });

  app.post('/api/cases/:caseId/decision', async (req, reply) => {
    const s = ctx.requireRole(req, reply, 'reviewer');
    if (!s) return reply;
    const p = CaseParams.safeParse(req.params);
    const b = DecisionBody.safeParse(req.body);
    if (!p.success || !b.success) {
      const issues = [...(p.error?.issues ?? []), ...(b.error?.issues ?? [])].map((i) => `${i.path.join('.')}: ${i.message}`);
      return refuse(reply, 400, 'bad_request', issues.join('; '));
    }
    const r = unwrap(reply, await service.decide(p.data.caseId, s.identity, b.data));
    return r ?? reply;
  });
}
