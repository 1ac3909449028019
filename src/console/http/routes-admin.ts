import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RouteContext } from './route-context.js';
import { refuse } from './security.js';

const LiftBody = z.strictObject({ reviewer: z.string().min(1).max(128) });

/** Lead views: the audit log, and lifting a reviewer's exposure block. */
export function registerAdminRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/api/audit', async (req, reply) => {
    if (!ctx.requireRole(req, reply, 'lead')) return reply;
    return { records: await ctx.service.auditLog(ctx.config.auditViewLimit) };
  });

  app.post('/api/exposure/lift', async (req, reply) => {
    const s = ctx.requireRole(req, reply, 'lead');
    if (!s) return reply;
    const b = LiftBody.safeParse(req.body);
    if (!b.success) return refuse(reply, 400, 'bad_request', 'reviewer id required');
    return ctx.service.liftBlock(s.identity, b.data.reviewer);
  });
}
