import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { identify, nameHash, redactName } from '../../src/bridge/stream-identity.js';
import { STREAM_ID_PATTERN } from '../../src/contracts/index.js';

const ingest = { id: 'nginx-1', pullUrl: 'rtmp://nginx-1.internal:1935/{app}/{name}', streamId: '{ingest}-{app}-{nameHash}' };

describe('stream identity from the ingest templates', () => {
  it('gives a stream id without the stream key, the pull URL with it, and a redacted URL for reports', () => {
    const r = identify(ingest, { app: 'live', name: 'sk_live_8f3a9c' }, {});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.streamId).toBe(`nginx-1-live-${nameHash({ app: 'live', name: 'sk_live_8f3a9c' })}`);
    expect(r.value.streamId).not.toContain('8f3a9c');
    expect(r.value.url).toBe('rtmp://nginx-1.internal:1935/live/sk_live_8f3a9c');
    expect(r.value.urlRedacted).not.toContain('8f3a9c');
    expect(r.value.nameRedacted).toBe('sk***');
  });

  it('is the same id on every reconnect with the key, another id for another key', () => {
    const a = identify(ingest, { app: 'live', name: 'k1', clientId: '1' }, {});
    const b = identify(ingest, { app: 'live', name: 'k1', clientId: '99' }, {});
    const c = identify(ingest, { app: 'live', name: 'k2' }, {});
    expect(a.ok && b.ok && c.ok && a.value.streamId === b.value.streamId && a.value.streamId !== c.value.streamId).toBe(true);
  });

  it('uses the publisher’s own arguments, and refuses a publish that lacks one the template needs', () => {
    const t = { ...ingest, streamId: 'ch-{arg.channel}' };
    expect(identify(t, { app: 'live', name: 'k' }, { channel: 'c/42' })).toMatchObject({ ok: true, value: { streamId: 'ch-c_42' } });
    expect(identify(t, { app: 'live', name: 'k' }, {})).toEqual({ ok: false, issues: ['streamId template: the hook gave no arg.channel'] });
  });

  it('keeps MediaMTX paths (no app) as path segments in the URL', () => {
    const mtx = { id: 'mtx', pullUrl: 'rtsp://mediamtx:8554/{name}', streamId: '{ingest}-{nameHash}' };
    expect(identify(mtx, { name: 'live/cam 7' }, {})).toMatchObject({ ok: true, value: { url: 'rtsp://mediamtx:8554/live/cam%207' } });
  });

  it('always yields a valid stream id (subject token) for any name and argument', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1, maxLength: 300 }), (name, arg) => {
        const r = identify({ ...ingest, streamId: '{arg.a}-{nameHash}' }, { app: 'live', name }, { a: arg });
        return r.ok && STREAM_ID_PATTERN.test(r.value.streamId);
      }),
    );
  });

  it('masks the last path segment of a name', () => {
    expect(redactName('abcdef')).toBe('ab***');
    expect(redactName('live/abc')).toBe('live/***');
    expect(redactName('a/b/longkey')).toBe('a/b/lo***');
  });
});
