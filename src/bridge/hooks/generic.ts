import { z } from 'zod';
import { compact, type HookReply, type IngestAdapter, type ParsedHook } from './hook.js';
import { statusFor } from './nginx-rtmp.js';

/**
 * The generic webhook, for ingests without a format of their own: a JSON POST signed with
 * HMAC-SHA256 (domain/signature.ts; the route checks the signature before this parser runs).
 * The answer is JSON {allow, reason?}; 2xx allows.
 */
export const GenericHookSchema = z.strictObject({
  event: z.enum(['publish', 'unpublish']),
  app: z.string().max(256).optional(),
  name: z.string().min(1).max(1024).describe('The stream name or key at the ingest'),
  clientId: z.string().max(128).optional(),
  connectionId: z.string().max(128).optional(),
  ip: z.string().max(64).optional(),
  args: z.record(z.string(), z.string()).optional().describe("The publisher's own query arguments"),
});

export const genericAdapter: IngestAdapter = {
  kind: 'generic',

  parse({ body }): ParsedHook {
    const parsed = GenericHookSchema.safeParse(body);
    if (!parsed.success) return { ok: false, issues: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
    const b = parsed.data;
    const target = compact({ app: b.app, name: b.name, clientId: b.clientId, connectionId: b.connectionId, publisherIp: b.ip });
    return { ok: true, hook: { call: b.event, target, args: b.args ?? {} } };
  },

  reply(verdict): HookReply {
    const body = verdict.allow ? { allow: true } : { allow: false, reason: verdict.reason, detail: verdict.detail };
    return { status: verdict.allow ? 200 : statusFor(verdict.reason), body: JSON.stringify(body), contentType: 'application/json' };
  },
};
