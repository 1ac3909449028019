import { authHeaders, call, joinUrl, retryableStatus, type KickClient, type KickOutcome } from './kick.js';

/** SRS answers a kick of a client it does not know with HTTP 200 and this code, not a 404. */
const ERROR_RTMP_CLIENT_NOT_FOUND = 2049;

/**
 * SRS HTTP API: `DELETE /api/v1/clients/<client_id>` kicks the connection; the answer is JSON
 * `{"code": 0}` when done, `{"code": 2049}` when there is no such client.
 */
export const srsKick: KickClient = {
  async kick({ ingest, target }, signal): Promise<KickOutcome> {
    if (!ingest.control) return { kind: 'failed', retryable: false, detail: `ingest ${ingest.id} has no control URL configured` };
    if (!target.clientId) return { kind: 'failed', retryable: false, detail: 'no SRS client_id was recorded for this stream' };
    const url = joinUrl(ingest.control.url, `/api/v1/clients/${encodeURIComponent(target.clientId)}`);
    const res = await call(url, { method: 'DELETE', headers: authHeaders(ingest.control) }, signal);
    if (!res.ok) return { kind: 'failed', retryable: true, detail: res.detail };
    if (res.status === 404) return { kind: 'already_gone', detail: 'SRS: no such client (404)' };
    const code = srsCode(res.body);
    if (res.status === 200 && code === 0) return { kind: 'done', detail: `SRS kicked client ${target.clientId}` };
    if (code === ERROR_RTMP_CLIENT_NOT_FOUND) return { kind: 'already_gone', detail: `SRS: client not found (code ${code})` };
    return {
      kind: 'failed',
      retryable: res.status === 200 || retryableStatus(res.status),
      detail: `SRS answered ${res.status} code ${code ?? '?'}: ${res.body.slice(0, 200)}`,
    };
  },
};

function srsCode(body: string): number | undefined {
  try {
    const v: unknown = JSON.parse(body);
    if (typeof v === 'number') return v;
    if (typeof v === 'object' && v !== null && typeof (v as { code?: unknown }).code === 'number') return (v as { code: number }).code;
  } catch {
    // not JSON: no code
  }
  return undefined;
}
