import { describe, expect, it } from 'vitest';
import { adapterFor } from '../../src/bridge/hooks/index.js';

// Request bodies as each ingest documents them: nginx-rtmp's notify module (form fields, the
// client's query arguments appended), SRS http_hooks (v5/v6 JSON, client_id a string; v3 sent a
// number), MediaMTX authHTTPAddress JSON. SRS and MediaMTX are not packaged here; these are
// their documented formats, which the loopback tests in test/enforcer replay too.

describe('nginx-rtmp on_publish / on_publish_done', () => {
  const nginx = adapterFor('nginx-rtmp');
  // What nginx-rtmp 1.2.2 posted in a capture on this machine for rtmp://127.0.0.1/live/mykey?foo=bar&x=1.
  const form = {
    app: 'live',
    flashver: 'FMLE/3.0 (compatible; Lavf59.27',
    swfurl: '',
    tcurl: 'rtmp://127.0.0.1:19350/live',
    pageurl: '',
    addr: '127.0.0.1',
    clientid: '1',
    call: 'publish',
    name: 'mykey',
    type: 'live',
    foo: 'bar',
    x: '1',
  };

  it('reads the publisher, its address and client id, and keeps only the client’s own arguments', () => {
    expect(nginx.parse({ body: form, query: {} })).toEqual({
      ok: true,
      hook: {
        call: 'publish',
        target: { app: 'live', name: 'mykey', clientId: '1', publisherIp: '127.0.0.1' },
        args: { foo: 'bar', x: '1' },
      },
    });
    const done = nginx.parse({ body: { ...form, call: 'publish_done', type: undefined }, query: {} });
    expect(done).toMatchObject({ ok: true, hook: { call: 'unpublish', target: { name: 'mykey' } } });
  });

  it('lets plays and other calls through, refuses a publish without a name', () => {
    expect(nginx.parse({ body: { ...form, call: 'play' }, query: {} })).toMatchObject({ ok: true, hook: { call: 'other' } });
    expect(nginx.parse({ body: { ...form, name: '' }, query: {} })).toEqual({ ok: false, issues: ['name: missing'] });
    expect(nginx.parse({ body: 'x', query: {} }).ok).toBe(false);
  });

  it('answers 2xx to allow and a non-redirect error status to drop', () => {
    expect(nginx.reply({ allow: true }).status).toBe(200);
    const refused = nginx.reply({ allow: false, reason: 'blocked', detail: 'key blocked until lifted' });
    expect(refused.status).toBe(403);
    expect(refused.status >= 300 && refused.status < 400).toBe(false);
  });
});

describe('SRS http_hooks', () => {
  const srs = adapterFor('srs');
  // The on_publish example of SRS's HTTP callback documentation (v5/v6).
  const onPublish = {
    action: 'on_publish',
    client_id: '9308h583',
    ip: '192.168.1.10',
    vhost: 'video.test.com',
    app: 'live',
    stream: 'livestream',
    param: '?token=xxx&salt=yyy',
    server_id: 'vid-werty',
    stream_url: 'video.test.com/live/livestream',
    stream_id: 'vid-124q9y3',
  };

  it('reads on_publish and on_unpublish, with the param as the publisher’s arguments', () => {
    expect(srs.parse({ body: onPublish, query: {} })).toEqual({
      ok: true,
      hook: {
        call: 'publish',
        target: { app: 'live', name: 'livestream', vhost: 'video.test.com', clientId: '9308h583', publisherIp: '192.168.1.10' },
        args: { token: 'xxx', salt: 'yyy' },
      },
    });
    expect(srs.parse({ body: { ...onPublish, action: 'on_unpublish' }, query: {} })).toMatchObject({ hook: { call: 'unpublish' } });
  });

  it('takes SRS 3’s numeric client_id too', () => {
    expect(srs.parse({ body: { ...onPublish, client_id: 1985 }, query: {} })).toMatchObject({ hook: { target: { clientId: '1985' } } });
  });

  it('allows with HTTP 200 and body 0, refuses with a non-200 and a non-zero code', () => {
    expect(srs.reply({ allow: true })).toMatchObject({ status: 200, body: '0' });
    const refused = srs.reply({ allow: false, reason: 'blocked', detail: 'x' });
    expect(refused.status).not.toBe(200);
    expect(JSON.parse(refused.body).code).not.toBe(0);
  });
});

describe('MediaMTX authHTTPAddress', () => {
  const mtx = adapterFor('mediamtx');
  const publish = {
    user: '',
    password: '',
    token: '',
    ip: '10.0.0.5',
    action: 'publish',
    path: 'live/cam7',
    protocol: 'rtmp',
    id: '5f0c2d7e-5d2b-4a38-9d07-5a0b3c1d2e4f',
    query: 'sid=42',
    userAgent: 'obs',
  };

  it('reads a publish with its connection UUID and protocol (what the kick needs)', () => {
    expect(mtx.parse({ body: publish, query: {} })).toEqual({
      ok: true,
      hook: {
        call: 'publish',
        target: { name: 'live/cam7', connectionId: publish.id, protocol: 'rtmp', publisherIp: '10.0.0.5' },
        args: { sid: '42' },
      },
    });
  });

  it('allows reads, playback and API calls without looking further', () => {
    for (const action of ['read', 'playback', 'api', 'metrics']) {
      expect(mtx.parse({ body: { ...publish, action }, query: {} })).toMatchObject({ ok: true, hook: { call: 'other' } });
    }
  });

  it('reads the runOnNotReady call (path and id as query or JSON) as the end of the publish', () => {
    expect(mtx.parse({ event: 'unpublish', body: undefined, query: { path: 'live/cam7', id: 'abc' } })).toMatchObject({
      hook: { call: 'unpublish', target: { name: 'live/cam7', connectionId: 'abc' } },
    });
    expect(mtx.parse({ event: 'unpublish', body: { path: 'live/cam7' }, query: {} })).toMatchObject({ hook: { call: 'unpublish' } });
    expect(mtx.parse({ event: 'unpublish', body: {}, query: {} }).ok).toBe(false);
  });

  it('allows with a 2xx and refuses with a 4xx', () => {
    expect(mtx.reply({ allow: true }).status).toBe(200);
    expect(mtx.reply({ allow: false, reason: 'blocked', detail: 'x' }).status).toBe(403);
  });
});

describe('generic webhook', () => {
  const generic = adapterFor('generic');

  it('reads its JSON and lists every problem of a bad one', () => {
    expect(generic.parse({ body: { event: 'publish', app: 'a', name: 'k', ip: '::1', args: { s: '1' } }, query: {} })).toEqual({
      ok: true,
      hook: { call: 'publish', target: { app: 'a', name: 'k', publisherIp: '::1' }, args: { s: '1' } },
    });
    const bad = generic.parse({ body: { event: 'start', name: '', extra: 1 }, query: {} });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.issues.length).toBeGreaterThanOrEqual(3);
  });

  it('answers JSON {allow}', () => {
    expect(JSON.parse(generic.reply({ allow: true }).body)).toEqual({ allow: true });
    expect(JSON.parse(generic.reply({ allow: false, reason: 'blocked', detail: 'd' }).body)).toMatchObject({
      allow: false,
      reason: 'blocked',
    });
  });
});
