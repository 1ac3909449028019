import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../../src/bridge/start-bridge.js';
import { nameHash } from '../../src/bridge/stream-identity.js';
import { loadConfig } from '../../src/config/index.js';
import { blockKey, streamKeyValue, type BlockRecord } from '../../src/contracts/index.js';
import { signedHeaders } from '../../src/domain/signature.js';
import { expectContract } from '../support/contract.js';
import { eventually } from '../support/eventually.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { startTcpProxy } from '../worker/intake/tcp-proxy.js';

// The bridge on a real nats-server, called over HTTP the way each ingest calls it (request
// formats as documented; nginx-rtmp's own calls are in the e2e loop test).

const secret = 'bridge-test-secret-0123';
const ingests = [
  { id: 'nginx-1', kind: 'nginx-rtmp', secret, pullUrl: 'rtmp://127.0.0.1:1935/{app}/{name}' },
  { id: 'srs-1', kind: 'srs', secret, pullUrl: 'rtmp://srs:1935/{app}/{name}' },
  { id: 'mtx-1', kind: 'mediamtx', secret, pullUrl: 'rtsp://mediamtx:8554/{name}', streamId: '{ingest}-{nameHash}' },
  { id: 'gen-1', kind: 'generic', secret, pullUrl: 'srt://ingest:9000?streamid={name}', streamId: 'gen-{arg.sid}' },
];

describe('bridge', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const running: RunningBridge[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await server.connect();
    jsm = await jetstreamManager(nc);
    // The workers' inbound streams (the worker provisions them in production).
    await jsm.streams.add({
      name: 'SCREENING_STARTS',
      subjects: ['streams.started.*'],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      max_msgs_per_subject: 1,
    });
    await jsm.streams.add({ name: 'SCREENING_ENDS', subjects: ['streams.ended.*'], storage: StorageType.File, max_msgs_per_subject: 1 });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((b) => b.stop()));
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  async function start(
    bridge: Record<string, unknown> = {},
    natsUrl = server.url,
  ): Promise<{ bridge: RunningBridge; base: string; outbox: string }> {
    const outbox = mkdtempSync(join(tmpdir(), 'bridge-outbox-'));
    const loaded = loadConfig({
      env: { NATS_URL: natsUrl },
      cwd: outbox,
      overrides: { ingests, bridge: { port: 0, outboxDir: outbox, outboxRetryMs: 200, ...bridge }, metrics: { enabled: false } },
    });
    const b = await startBridge(loaded, pino({ level: process.env.E2E_LOG ?? 'silent' }));
    running.push(b);
    return { bridge: b, base: `http://127.0.0.1:${b.port}`, outbox };
  }

  const form = (fields: Record<string, string>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  const nginxPublish = (name: string, call = 'publish') =>
    form({
      app: 'live',
      flashver: 'FMLE/3.0',
      swfurl: '',
      tcurl: 'rtmp://127.0.0.1/live',
      pageurl: '',
      addr: '192.0.2.7',
      clientid: '12',
      call,
      name,
      type: 'live',
      channel: 'c9',
    });
  const lastOn = async (stream: string, subject: string) => {
    const m = await jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(() => null);
    return m ? { data: m.json<Record<string, unknown>>(), msgId: m.header.get('Nats-Msg-Id') } : undefined;
  };

  it('allows an nginx-rtmp publish, announces it with a Nats-Msg-Id and records the publisher', async () => {
    const { base } = await start();
    const res = await fetch(`${base}/hooks/nginx-1?token=${secret}`, nginxPublish('sk_live_1'));
    expect(res.status).toBe(200);
    const kv = await new Kvm(nc).open('screening-publishers');
    const keys: string[] = [];
    for await (const k of await kv.keys()) keys.push(k);
    const streamId = keys.find((k) => k.startsWith('nginx-1-live-'))!;
    expect(streamId).toMatch(/^nginx-1-live-[0-9a-f]{16}$/);
    const announced = (await lastOn('SCREENING_STARTS', `streams.started.${streamId}`))!;
    expectContract(`streams.started.${streamId}`, announced.data);
    expect(announced.data).toMatchObject({
      streamId,
      url: 'rtmp://127.0.0.1:1935/live/sk_live_1',
      ingest: { id: 'nginx-1', kind: 'nginx-rtmp', stream: 'sk***' },
    });
    expect(announced.msgId).toMatch(/^start-/);
    const record = (await kv.get(streamId))!.json<Record<string, unknown>>();
    expectContract(`$KV.screening-publishers.${streamId}`, record);
    expect(record).toMatchObject({
      ingest: { id: 'nginx-1', kind: 'nginx-rtmp' },
      target: { app: 'live', name: 'sk_live_1', clientId: '12', publisherIp: '192.0.2.7' },
      startEventId: announced.msgId,
    });
    // The start carries no address, and the stream key only in the URL the workers pull.
    const { url: _url, ...rest } = announced.data;
    expect(JSON.stringify(rest)).not.toMatch(/192\.0\.2\.7|sk_live_1/);

    expect((await fetch(`${base}/hooks/nginx-1?token=${secret}`, nginxPublish('sk_live_1', 'publish_done'))).status).toBe(200);
    const end = (await lastOn('SCREENING_ENDS', `streams.ended.${streamId}`))!;
    expectContract(`streams.ended.${streamId}`, end.data);
    expect((await kv.get(streamId))!.json()).toMatchObject({ endedAt: end.data.endedAt });
  });

  it('refuses callers without the secret, and unknown ingests, announcing nothing', async () => {
    const { base } = await start();
    const before = (await jsm.streams.info('SCREENING_STARTS')).state.messages;
    expect((await fetch(`${base}/hooks/nginx-1?token=wrong-secret-000000`, nginxPublish('sneaky'))).status).toBe(401);
    expect((await fetch(`${base}/hooks/nginx-1`, nginxPublish('sneaky'))).status).toBe(401);
    expect((await fetch(`${base}/hooks/nope?token=${secret}`, nginxPublish('sneaky'))).status).toBe(404);
    // A bearer header does as well as the token; a malformed body is refused as invalid.
    const bearer = {
      ...nginxPublish('fine'),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${secret}` },
    };
    expect((await fetch(`${base}/hooks/nginx-1`, bearer)).status).toBe(200);
    expect((await fetch(`${base}/hooks/nginx-1?token=${secret}`, form({ call: 'publish', app: 'live' }))).status).toBe(400);
    expect((await jsm.streams.info('SCREENING_STARTS')).state.messages).toBe(before + 1);
  });

  it('refuses a blocked key, stream or address within moments of the block, and allows it again once lifted', async () => {
    const { base } = await start();
    const blocks = await new Kvm(nc).open('screening-blocks');
    const block = (scope: 'key' | 'ip', value: string, expiresAt: string | null): BlockRecord => ({
      schemaVersion: 1,
      type: 'block',
      key: blockKey(scope, value),
      scope,
      display: 'test',
      streamId: 's-blocked',
      reason: 'operator',
      createdAt: new Date().toISOString(),
      expiresAt,
      createdBy: 'test',
    });
    const keyBlock = block('key', streamKeyValue({ app: 'live', name: 'bad-key' }), null);
    await blocks.put(keyBlock.key, JSON.stringify(keyBlock));
    await eventually(
      async () => (await fetch(`${base}/hooks/nginx-1?token=${secret}`, nginxPublish('bad-key'))).status === 403,
      5_000,
      'the block to refuse',
    );
    const ipBlock = block('ip', '192.0.2.7', new Date(Date.now() + 60_000).toISOString());
    await blocks.put(ipBlock.key, JSON.stringify(ipBlock));
    await eventually(
      async () => (await fetch(`${base}/hooks/nginx-1?token=${secret}`, nginxPublish('good-key'))).status === 403,
      5_000,
      'the ip block',
    );
    // An expired block refuses nothing.
    await blocks.put(ipBlock.key, JSON.stringify({ ...ipBlock, expiresAt: new Date(Date.now() - 1000).toISOString() }));
    await eventually(
      async () => (await fetch(`${base}/hooks/nginx-1?token=${secret}`, nginxPublish('good-key'))).status === 200,
      5_000,
      'expiry',
    );
    await blocks.delete(keyBlock.key);
    await eventually(
      async () => (await fetch(`${base}/hooks/nginx-1?token=${secret}`, nginxPublish('bad-key'))).status === 200,
      5_000,
      'the lift',
    );
  });

  it('answers SRS with 0, MediaMTX with 2xx (its reads unexamined), and a signed generic call once', async () => {
    const { base } = await start();
    const srs = await fetch(`${base}/hooks/srs-1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
      body: JSON.stringify({
        action: 'on_publish',
        client_id: '9308h583',
        ip: '198.51.100.4',
        vhost: '__defaultVhost__',
        app: 'live',
        stream: 'livestream',
        param: '?k=v',
        server_id: 'vid-werty',
        stream_url: '/live/livestream',
        stream_id: 'vid-124q9y3',
      }),
    });
    expect(srs.status).toBe(200);
    expect(await srs.text()).toBe('0');

    const mtxBody = {
      user: '',
      password: '',
      token: '',
      ip: '10.0.0.5',
      action: 'publish',
      path: 'live/cam7',
      protocol: 'rtmp',
      id: '5f0c2d7e-5d2b-4a38-9d07-5a0b3c1d2e4f',
      query: '',
    };
    expect(
      (
        await fetch(`${base}/hooks/mtx-1?token=${secret}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(mtxBody),
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await fetch(`${base}/hooks/mtx-1?token=${secret}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...mtxBody, action: 'read' }),
        })
      ).status,
    ).toBe(200);
    const mtxEnd = await fetch(`${base}/hooks/mtx-1/unpublish?token=${secret}&path=live/cam7&id=${mtxBody.id}`, { method: 'POST' });
    expect(mtxEnd.status).toBe(200);

    const body = JSON.stringify({ event: 'publish', app: 'live', name: 'gk', ip: '203.0.113.9', args: { sid: 'room-42' } });
    const headers = { 'content-type': 'application/json', ...signedHeaders(secret, body) };
    expect((await fetch(`${base}/hooks/gen-1`, { method: 'POST', headers, body })).status).toBe(200);
    expect((await fetch(`${base}/hooks/gen-1`, { method: 'POST', headers, body })).status).toBe(401);
    expect((await lastOn('SCREENING_STARTS', 'streams.started.gen-room-42'))?.data).toMatchObject({ url: 'srt://ingest:9000?streamid=gk' });
  });

  it('fail-open: while NATS does not answer it still allows, queues the start durably and sends it when NATS is back', async () => {
    const proxy = await startTcpProxy(server.port);
    try {
      const { base, outbox } = await start({ failMode: 'open', natsTimeoutMs: 100 }, proxy.url);
      proxy.partition();
      const t0 = Date.now();
      const res = await fetch(`${base}/hooks/nginx-1?token=${secret}`, nginxPublish('during-outage'));
      expect(res.status).toBe(200);
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(readdirSync(outbox).filter((f) => f.endsWith('.json'))).toHaveLength(1);
      const streamId = `nginx-1-live-${nameHash({ app: 'live', name: 'during-outage' })}`;
      expect(await lastOn('SCREENING_STARTS', `streams.started.${streamId}`)).toBeUndefined();
      proxy.restore();
      await eventually(
        async () => (await lastOn('SCREENING_STARTS', `streams.started.${streamId}`)) !== undefined,
        15_000,
        'the queued start',
      );
      await eventually(() => readdirSync(outbox).filter((f) => f.endsWith('.json')).length === 0, 5_000, 'the outbox to empty');
    } finally {
      proxy.restore();
      await proxy.close();
    }
  }, 40_000);

  it('fail-closed: while NATS does not answer it refuses the broadcaster', async () => {
    const proxy = await startTcpProxy(server.port);
    try {
      const { base, outbox } = await start({ failMode: 'closed', natsTimeoutMs: 100 }, proxy.url);
      expect((await fetch(`${base}/hooks/nginx-1?token=${secret}`, nginxPublish('closed-ok'))).status).toBe(200);
      proxy.partition();
      expect((await fetch(`${base}/hooks/nginx-1?token=${secret}`, nginxPublish('closed-refused'))).status).toBe(503);
      // What may still land of the refused start is ended again, from the outbox.
      expect(readdirSync(outbox).filter((f) => f.endsWith('.json'))).toHaveLength(1);
    } finally {
      proxy.restore();
      await proxy.close();
    }
  }, 30_000);
});
