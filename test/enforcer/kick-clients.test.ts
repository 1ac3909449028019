import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestConfig } from '../../src/config/index.js';
import { verifySignature } from '../../src/domain/signature.js';
import { kickClientFor, type KickRequest } from '../../src/enforcer/kick/index.js';
import { json, startFakeIngestApi, type FakeIngestApi } from '../support/fake-ingest-api.js';
import { freePort } from '../support/free-port.js';

// SRS and MediaMTX are not packaged for Debian, so their control APIs are played by a loopback
// HTTP server answering as their documentation and source say: SRS DELETE /api/v1/clients/<id>
// with {"code":0} or, for an unknown client, HTTP 200 {"code":2049}; MediaMTX POST
// /v3/<resource>/kick/<id> with 200 or 404. The nginx-rtmp client is tested against a real
// nginx in nginx-kick.test.ts.

const secret = 'a-long-enough-secret';
const signal = () => AbortSignal.timeout(2_000);

function request(ingest: Partial<IngestConfig> & Pick<IngestConfig, 'kind'>, target: KickRequest['target']): KickRequest {
  return {
    ingest: { id: 'i1', secret, pullUrl: 'rtmp://h/{app}/{name}', streamId: '{ingest}-{nameHash}', ...ingest },
    streamId: 's1',
    target,
    killSwitchEventId: 'ks-1',
  };
}

describe('SRS kick (DELETE /api/v1/clients/<client_id>)', () => {
  let api: FakeIngestApi;
  const clients = new Set(['9308h583']);
  beforeAll(async () => {
    api = await startFakeIngestApi((req, res) => {
      const id = /^\/api\/v1\/clients\/([^/?]+)$/.exec(req.url)?.[1];
      if (req.method !== 'DELETE' || !id) return json(res, 405, { code: 1 });
      if (id === 'boom') return json(res, 500, { code: 1 });
      if (!clients.delete(decodeURIComponent(id))) return json(res, 200, { code: 2049 });
      json(res, 200, { code: 0, server: 'vid-werty' });
    });
  });
  afterAll(() => api.close());

  it('kicks a known client, then finds it gone', async () => {
    const r = request({ kind: 'srs', control: { url: api.url } }, { app: 'live', name: 'livestream', clientId: '9308h583' });
    expect(await kickClientFor('srs').kick(r, signal())).toMatchObject({ kind: 'done' });
    expect(await kickClientFor('srs').kick(r, signal())).toMatchObject({ kind: 'already_gone' });
    expect(api.requests.map((q) => `${q.method} ${q.url}`)).toEqual(['DELETE /api/v1/clients/9308h583', 'DELETE /api/v1/clients/9308h583']);
  });

  it('retries a 500, gives up without a client id or control URL', async () => {
    const srs = kickClientFor('srs');
    expect(await srs.kick(request({ kind: 'srs', control: { url: api.url } }, { name: 'x', clientId: 'boom' }), signal())).toMatchObject({
      kind: 'failed',
      retryable: true,
    });
    expect(await srs.kick(request({ kind: 'srs', control: { url: api.url } }, { name: 'x' }), signal())).toMatchObject({
      kind: 'failed',
      retryable: false,
    });
    expect(await srs.kick(request({ kind: 'srs' }, { name: 'x', clientId: '1' }), signal())).toMatchObject({
      kind: 'failed',
      retryable: false,
    });
  });

  it('treats an unreachable API as retryable', async () => {
    const r = request({ kind: 'srs', control: { url: `http://127.0.0.1:${await freePort()}` } }, { name: 'x', clientId: '1' });
    expect(await kickClientFor('srs').kick(r, signal())).toMatchObject({ kind: 'failed', retryable: true });
  });
});

describe('MediaMTX kick (POST /v3/<resource>/kick/<id>)', () => {
  let api: FakeIngestApi;
  const conns: Record<string, Set<string>> = {
    rtmpsconns: new Set(['tls-conn']),
    srtconns: new Set(['srt-conn']),
    rtmpconns: new Set(['plain']),
  };
  beforeAll(async () => {
    api = await startFakeIngestApi((req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from('api:pw').toString('base64')}`)
        return json(res, 401, { error: 'authentication error' });
      const m = /^\/v3\/(\w+)\/kick\/([^/]+)$/.exec(req.url);
      if (req.method !== 'POST' || !m) return json(res, 404, { error: 'not found' });
      if (conns[m[1]!]?.delete(m[2]!)) return res.writeHead(200).end();
      json(res, 404, { error: 'connection not found' });
    });
  });
  afterAll(() => api.close());
  const control = () => ({ url: api.url, username: 'api', password: 'pw' });

  it('kicks by protocol, and tries the TLS variant of a protocol when the plain one does not know the id', async () => {
    const mtx = kickClientFor('mediamtx');
    const kick = (protocol: string, connectionId: string) =>
      mtx.kick(request({ kind: 'mediamtx', control: control() }, { name: 'live/cam', protocol, connectionId }), signal());
    expect(await kick('rtmp', 'plain')).toMatchObject({ kind: 'done', detail: 'MediaMTX kicked rtmpconns plain' });
    expect(await kick('rtmp', 'tls-conn')).toMatchObject({ kind: 'done', detail: 'MediaMTX kicked rtmpsconns tls-conn' });
    expect(await kick('srt', 'srt-conn')).toMatchObject({ kind: 'done' });
    expect(await kick('srt', 'srt-conn')).toMatchObject({ kind: 'already_gone' });
    expect(await kick('hls', 'x')).toMatchObject({ kind: 'failed', retryable: false });
  });

  it('reports refused credentials as a failure that retrying cannot fix', async () => {
    const r = request({ kind: 'mediamtx', control: { url: api.url } }, { name: 'p', protocol: 'rtmp', connectionId: 'plain' });
    expect(await kickClientFor('mediamtx').kick(r, signal())).toMatchObject({ kind: 'failed', retryable: false });
  });
});

describe('generic kick webhook', () => {
  let api: FakeIngestApi;
  beforeAll(async () => {
    api = await startFakeIngestApi((req, res) => {
      const check = verifySignature(
        'control-secret-0123',
        { timestamp: req.headers['x-streamscreen-timestamp'] as string, signature: req.headers['x-streamscreen-signature'] as string },
        req.body,
        300_000,
      );
      if (!check.ok) return json(res, 401, { error: check.reason });
      const body = JSON.parse(req.body);
      if (body.name === 'gone') return json(res, 200, { result: 'already_gone' });
      json(res, 200, { result: 'done' });
    });
  });
  afterAll(() => api.close());

  it('signs the call with the control secret and reads done / already gone', async () => {
    const g = kickClientFor('generic');
    const control = { url: `${api.url}/kick`, secret: 'control-secret-0123' };
    expect(await g.kick(request({ kind: 'generic', control }, { app: 'a', name: 'k', clientId: 'c' }), signal())).toMatchObject({
      kind: 'done',
    });
    expect(await g.kick(request({ kind: 'generic', control }, { name: 'gone' }), signal())).toMatchObject({ kind: 'already_gone' });
    expect(JSON.parse(api.requests[0]!.body)).toMatchObject({ action: 'disconnect', streamId: 's1', killSwitchEventId: 'ks-1', name: 'k' });
    // Signed with the wrong key (the ingest secret instead of the control secret): refused, not retried.
    expect(await g.kick(request({ kind: 'generic', control: { url: `${api.url}/kick` } }, { name: 'k' }), signal())).toMatchObject({
      kind: 'failed',
      retryable: false,
    });
  });
});
