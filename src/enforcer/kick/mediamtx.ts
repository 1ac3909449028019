import { authHeaders, call, joinUrl, retryableStatus, type KickClient, type KickOutcome } from './kick.js';

/**
 * MediaMTX Control API: `POST /v3/<resource>/kick/<id>`, 200 when kicked, 404 when there is no
 * such connection. The resource depends on the protocol the auth request named; the TLS variant
 * of a protocol has its own resource with the same ids, so it is tried when the plain one 404s.
 */
const RESOURCES: Readonly<Record<string, readonly string[]>> = {
  rtmp: ['rtmpconns', 'rtmpsconns'],
  rtsp: ['rtspsessions', 'rtspssessions'],
  srt: ['srtconns'],
  webrtc: ['webrtcsessions'],
};

export const mediamtxKick: KickClient = {
  async kick({ ingest, target }, signal): Promise<KickOutcome> {
    if (!ingest.control) return { kind: 'failed', retryable: false, detail: `ingest ${ingest.id} has no control URL configured` };
    if (!target.connectionId) return { kind: 'failed', retryable: false, detail: 'no MediaMTX connection id was recorded for this stream' };
    const resources = RESOURCES[target.protocol ?? ''];
    if (!resources) return { kind: 'failed', retryable: false, detail: `MediaMTX cannot kick protocol '${target.protocol ?? '(none)'}'` };
    for (const resource of resources) {
      const url = joinUrl(ingest.control.url, `/v3/${resource}/kick/${encodeURIComponent(target.connectionId)}`);
      const res = await call(url, { method: 'POST', headers: authHeaders(ingest.control) }, signal);
      if (!res.ok) return { kind: 'failed', retryable: true, detail: res.detail };
      if (res.status === 200) return { kind: 'done', detail: `MediaMTX kicked ${resource} ${target.connectionId}` };
      if (res.status !== 404) {
        return {
          kind: 'failed',
          retryable: retryableStatus(res.status),
          detail: `MediaMTX answered ${res.status}: ${res.body.slice(0, 200)}`,
        };
      }
    }
    return { kind: 'already_gone', detail: `MediaMTX has no ${resources.join(' or ')} ${target.connectionId}` };
  },
};
