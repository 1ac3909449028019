import { authHeaders, call, joinUrl, retryableStatus, type KickClient, type KickOutcome } from './kick.js';

/**
 * nginx-rtmp's control module: `GET <control>/drop/publisher?app=APP&name=NAME` answers 200
 * with the number of sessions dropped (0 when the stream has no publisher any more; older
 * releases answer 400 "Live stream not found"). The control location must be in the same
 * nginx as the rtmp server and nginx must run one worker process: a request served by another
 * worker does not see the stream (nginx-rtmp keeps streams per worker).
 */
export const nginxRtmpKick: KickClient = {
  async kick({ ingest, target }, signal): Promise<KickOutcome> {
    if (!ingest.control) return { kind: 'failed', retryable: false, detail: `ingest ${ingest.id} has no control URL configured` };
    const q = new URLSearchParams({ app: target.app ?? '', name: target.name });
    const res = await call(
      joinUrl(ingest.control.url, `/drop/publisher?${q.toString()}`),
      { headers: authHeaders(ingest.control) },
      signal,
    );
    if (!res.ok) return { kind: 'failed', retryable: true, detail: res.detail };
    const body = res.body.trim();
    if (res.status === 200 && /^\d+$/.test(body)) {
      return Number(body) > 0
        ? { kind: 'done', detail: `nginx-rtmp dropped ${body} publisher session(s)` }
        : { kind: 'already_gone', detail: 'nginx-rtmp has no publisher on this stream' };
    }
    if (res.status === 400 && /not found|no publisher/i.test(body)) return { kind: 'already_gone', detail: `nginx-rtmp: ${body}` };
    return {
      kind: 'failed',
      retryable: retryableStatus(res.status),
      detail: `nginx-rtmp control answered ${res.status}: ${body.slice(0, 200)}`,
    };
  },
};
