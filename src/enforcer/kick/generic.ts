import { signedHeaders } from '../../domain/signature.js';
import { call, retryableStatus, type KickClient, type KickOutcome } from './kick.js';

/**
 * The generic kick webhook: a JSON POST to the ingest's control URL, signed like the generic
 * hook (domain/signature.ts) with control.secret or the ingest's secret. 2xx: done, unless the
 * body says `{"result": "already_gone"}`; 404 or 410: already gone.
 */
export const genericKick: KickClient = {
  async kick({ ingest, target, streamId, killSwitchEventId }, signal): Promise<KickOutcome> {
    if (!ingest.control) return { kind: 'failed', retryable: false, detail: `ingest ${ingest.id} has no control URL configured` };
    const body = JSON.stringify({ action: 'disconnect', streamId, killSwitchEventId, ...target });
    const headers = { 'content-type': 'application/json', ...signedHeaders(ingest.control.secret ?? ingest.secret, body) };
    const res = await call(ingest.control.url, { method: 'POST', headers, body }, signal);
    if (!res.ok) return { kind: 'failed', retryable: true, detail: res.detail };
    if (res.status === 404 || res.status === 410) return { kind: 'already_gone', detail: `ingest answered ${res.status}` };
    if (res.status >= 200 && res.status < 300) {
      return /"result"\s*:\s*"already_gone"/.test(res.body)
        ? { kind: 'already_gone', detail: 'ingest: already gone' }
        : { kind: 'done', detail: `ingest answered ${res.status}` };
    }
    return { kind: 'failed', retryable: retryableStatus(res.status), detail: `ingest answered ${res.status}: ${res.body.slice(0, 200)}` };
  },
};
