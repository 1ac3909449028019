import { compact, isRecord, queryArgs, text, type HookReply, type IngestAdapter, type ParsedHook } from './hook.js';
import { statusFor } from './nginx-rtmp.js';

/**
 * SRS `http_hooks` on_publish / on_unpublish: a JSON POST with action, client_id (a number up
 * to SRS 3, a string since 4), ip, vhost, app, stream, param (`?token=...`), tcUrl, and since
 * SRS 5 server_id, stream_url and stream_id. SRS allows only on HTTP 200 with an integer body
 * (or `{"code": N}`) of 0; anything else refuses.
 */
export const srsAdapter: IngestAdapter = {
  kind: 'srs',

  parse({ body }): ParsedHook {
    if (!isRecord(body)) return { ok: false, issues: ['body: expected the JSON object SRS http_hooks send'] };
    const action = text(body.action);
    if (action !== 'on_publish' && action !== 'on_unpublish')
      return { ok: true, hook: { call: 'other', detail: `action=${action ?? '(none)'}` } };
    const name = text(body.stream);
    const app = text(body.app);
    const issues = [...(name ? [] : ['stream: missing']), ...(app ? [] : ['app: missing'])];
    if (issues.length) return { ok: false, issues };
    const target = compact({ app, name: name!, vhost: text(body.vhost), clientId: text(body.client_id), publisherIp: text(body.ip) });
    return { ok: true, hook: { call: action === 'on_publish' ? 'publish' : 'unpublish', target, args: queryArgs(text(body.param)) } };
  },

  reply(verdict): HookReply {
    if (verdict.allow) return { status: 200, body: '0', contentType: 'application/json' };
    return {
      status: statusFor(verdict.reason),
      body: JSON.stringify({ code: statusFor(verdict.reason), reason: verdict.reason, detail: verdict.detail }),
      contentType: 'application/json',
    };
  },
};
