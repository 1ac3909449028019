import { compact, isRecord, text, type HookReply, type HookVerdict, type IngestAdapter, type ParsedHook } from './hook.js';

/**
 * nginx-rtmp `on_publish` / `on_publish_done` (notify module): a form-encoded POST with app,
 * flashver, swfurl, tcurl, pageurl, addr, clientid, call, name, type, followed by the
 * publisher's own query arguments (rtmp://host/app/name?foo=1 adds foo=1). nginx-rtmp reads
 * only the status: 2xx allows, 3xx redirects, anything else drops the publisher.
 */
const NOTIFY_FIELDS = new Set(['app', 'flashver', 'swfurl', 'tcurl', 'pageurl', 'addr', 'clientid', 'call', 'name', 'type', 'epoch']);

export const nginxRtmpAdapter: IngestAdapter = {
  kind: 'nginx-rtmp',

  parse({ body }): ParsedHook {
    if (!isRecord(body))
      return { ok: false, issues: ['body: expected the form fields nginx-rtmp sends (application/x-www-form-urlencoded)'] };
    const call = text(body.call);
    if (call !== 'publish' && call !== 'publish_done') return { ok: true, hook: { call: 'other', detail: `call=${call ?? '(none)'}` } };
    const name = text(body.name);
    const app = text(body.app);
    const issues = [...(name ? [] : ['name: missing']), ...(app ? [] : ['app: missing'])];
    if (issues.length) return { ok: false, issues };
    const args: Record<string, string> = {};
    for (const [k, v] of Object.entries(body)) {
      const value = text(v);
      if (!NOTIFY_FIELDS.has(k) && value !== undefined) args[k] = value;
    }
    const target = compact({ app, name: name!, clientId: text(body.clientid), publisherIp: text(body.addr) });
    return { ok: true, hook: { call: call === 'publish' ? 'publish' : 'unpublish', target, args } };
  },

  reply(verdict: HookVerdict): HookReply {
    if (verdict.allow) return { status: 200, body: 'OK\n', contentType: 'text/plain' };
    return { status: statusFor(verdict.reason), body: `${verdict.reason}: ${verdict.detail}\n`, contentType: 'text/plain' };
  },
};

/** Any non-2xx/3xx drops the publisher; the status only tells a person reading nginx's log why. */
export function statusFor(reason: 'blocked' | 'unavailable' | 'unauthorized' | 'invalid'): number {
  return { blocked: 403, unavailable: 503, unauthorized: 401, invalid: 400 }[reason];
}
