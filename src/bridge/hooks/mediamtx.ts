import { compact, isRecord, queryArgs, text, type HookReply, type IngestAdapter, type ParsedHook } from './hook.js';
import { statusFor } from './nginx-rtmp.js';

/**
 * MediaMTX `authMethod: http`: every publish, read, playback (and api, metrics, pprof unless
 * excluded) is POSTed to authHTTPAddress as JSON {user, password, token, ip, action, path,
 * protocol, id, query} (newer releases add userAgent); a 2xx allows. `id` is the connection's
 * UUID, what the Control API's kick takes. Only publishes are the bridge's business: the rest
 * is allowed. MediaMTX has no "publish ended" callback to the auth URL: its `runOnNotReady` hook
 * command posts `path` (and `id`) to `/hooks/<ingest>/unpublish`, as query or JSON.
 */
export const mediamtxAdapter: IngestAdapter = {
  kind: 'mediamtx',

  parse({ event, body, query }): ParsedHook {
    const fields = isRecord(body) ? body : {};
    if (event === 'unpublish') {
      const path = text(fields.path) ?? query.path;
      if (!path) return { ok: false, issues: ['path: missing (runOnNotReady must pass $MTX_PATH)'] };
      const target = compact({ name: path, connectionId: text(fields.id) ?? query.id });
      return { ok: true, hook: { call: 'unpublish', target, args: {} } };
    }
    if (!isRecord(body)) return { ok: false, issues: ['body: expected the JSON object MediaMTX sends to authHTTPAddress'] };
    const action = text(body.action);
    if (action !== 'publish') return { ok: true, hook: { call: 'other', detail: `action=${action ?? '(none)'}` } };
    const path = text(body.path);
    if (!path) return { ok: false, issues: ['path: missing'] };
    const target = compact({
      name: path,
      connectionId: text(body.id),
      protocol: text(body.protocol),
      publisherIp: text(body.ip),
    });
    return { ok: true, hook: { call: 'publish', target, args: queryArgs(text(body.query)) } };
  },

  reply(verdict): HookReply {
    if (verdict.allow) return { status: 200, body: '', contentType: 'text/plain' };
    return { status: statusFor(verdict.reason), body: `${verdict.reason}: ${verdict.detail}\n`, contentType: 'text/plain' };
  },
};
