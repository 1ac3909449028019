/**
 * The attacker's probes against the worker's ffmpeg, on real ffmpeg processes, each aimed at a
 * logging server on loopback that records whatever reaches it. Loopback is refused by default, so
 * a probe that must connect allow-lists it explicitly: the same server, allow-listed, is reached
 * (the positive controls), which is what makes "nothing arrived" mean something.
 *
 * Nothing here sends a packet to a non-loopback address: deny-range probes name literal
 * addresses or names answered by an injected resolver, and are asserted refused before any
 * ffmpeg starts (no `sampler.spawn`) and before any lookup of a denied name.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceError } from '../../../src/domain/errors.js';
import { screeningFailureEvent } from '../../../src/domain/failure.js';
import { createHooks } from '../../../src/domain/hooks.js';
import type { WorkerEvents } from '../../../src/worker/events.js';
import type { Lookup, ResolvedAddress } from '../../../src/worker/sampler/egress/policy.js';
import { probeFfmpeg, type FfmpegBinary } from '../../../src/worker/sampler/ffmpeg-binary.js';
import type { ConfigInput } from '../../../src/config/index.js';
import { createSampler, SourceFailedError } from '../../../src/worker/sampler/index.js';
import { capturingLogger } from '../../support/capture-logger.js';
import { samplerOptions } from '../../support/stage-options.js';
import { createTestPki, startLoggingServer, type Handler, type LoggingServer, type TestPki } from '../../support/logging-server.js';
import { startLiveSource, type LiveSource } from '../../support/live-source.js';
import { DEBIAN_FFMPEG } from './helpers.js';

type SamplerInput = NonNullable<ConfigInput['sampler']>;

let ffmpeg: FfmpegBinary;
let pki: TestPki;
const servers: LoggingServer[] = [];

beforeAll(async () => {
  ffmpeg = await probeFfmpeg(DEBIAN_FFMPEG, 'path');
  pki = createTestPki();
});
afterAll(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(opts: Parameters<typeof startLoggingServer>[0] = {}): Promise<LoggingServer> {
  const s = await startLoggingServer(opts);
  servers.push(s);
  return s;
}

/** Names the probes use, answered without DNS; every lookup is recorded. */
function resolver(table: Record<string, string | string[]>): Lookup & { asked: string[] } {
  const asked: string[] = [];
  const lookup = async (name: string): Promise<ResolvedAddress[]> => {
    asked.push(name);
    const entry = table[name];
    if (entry === undefined) throw new Error(`test resolver: no entry for ${name}`);
    const list = typeof entry === 'string' ? [entry] : entry;
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(lookup, { asked });
}

interface ProbeResult {
  readonly error: unknown;
  /** ffmpeg runs started. */
  readonly spawns: number;
  readonly blocked: WorkerEvents['sampler.egressBlocked'][];
  readonly logs: string[];
}

/** Samples `url` until the sampler gives up (or `maxMs`), counting ffmpeg runs and egress refusals. */
async function probe(url: string, options: SamplerInput = {}, lookup?: Lookup, maxMs = 20_000): Promise<ProbeResult> {
  const hooks = createHooks<WorkerEvents>();
  let spawns = 0;
  const blocked: WorkerEvents['sampler.egressBlocked'][] = [];
  hooks.on({ 'sampler.spawn': () => spawns++, 'sampler.egressBlocked': (b) => blocked.push(b) });
  const { logger, lines } = capturingLogger();
  let error: unknown;
  try {
    const s = createSampler({
      url,
      streamId: 'probe',
      ffmpeg,
      logger,
      events: hooks,
      ...(lookup ? { lookup } : {}),
      options: samplerOptions({ maxRestarts: 0, rwTimeoutMs: 1_500, stallTimeoutMs: 3_000, connectBudgetMs: 10_000, ...options }),
    });
    const timer = setTimeout(() => void s.stop(), maxMs);
    try {
      for await (const _ of s.frames()) break;
    } catch (err) {
      error = err;
    } finally {
      clearTimeout(timer);
      await s.stop();
    }
  } catch (err) {
    error = err;
  }
  return { error, spawns, blocked, logs: lines };
}

function refusedBeforeAnything(r: ProbeResult): void {
  expect(r.spawns).toBe(0);
  const code = r.error instanceof SourceFailedError ? r.error.lastCause.code : (r.error as SourceError | undefined)?.code;
  expect(code).toBe('source_refused');
}

const playlist =
  (lines: string[]): Handler =>
  (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.endsWith('.m3u8')) {
      res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' }).end(['#EXTM3U', ...lines, ''].join('\n'));
    } else {
      res.writeHead(404).end();
    }
  };
const mediaPlaylist = (segment: string): string[] => [
  '#EXT-X-VERSION:3',
  '#EXT-X-TARGETDURATION:1',
  '#EXT-X-MEDIA-SEQUENCE:0',
  '#EXTINF:1.0,',
  segment,
  '#EXT-X-ENDLIST',
];

describe('loopback is refused unless allow-listed', () => {
  it('http://127.0.0.1, [::1], 0x7f000001, 2130706433, 127.1 and localhost never start ffmpeg; allow-listed, the same server is reached', async () => {
    const v4 = await server();
    const v6 = await server({ host: '::1' });
    const dns = resolver({ localhost: '127.0.0.1' });
    for (const url of [
      `http://127.0.0.1:${v4.port}/live.m3u8`,
      `http://[::1]:${v6.port}/live.m3u8`,
      `http://0x7f000001:${v4.port}/live.m3u8`,
      `http://2130706433:${v4.port}/live.m3u8`,
      `http://127.1:${v4.port}/live.m3u8`,
      `http://localhost:${v4.port}/live.m3u8`,
      `https://127.0.0.1:${v4.port}/live.m3u8`,
    ]) {
      refusedBeforeAnything(await probe(url, {}, dns));
    }
    expect([v4.connections, v6.connections]).toEqual([0, 0]);
    expect(dns.asked).toEqual([]);

    // Positive control: allow-listed, ffmpeg reaches both (and fails on their 404, as it should).
    const allowed = await probe(`http://127.0.0.1:${v4.port}/live.m3u8`, { allowHosts: ['127.0.0.1'] });
    const allowed6 = await probe(`http://[::1]:${v6.port}/live.m3u8`, { allowHosts: ['::1/128'] });
    expect(allowed.spawns).toBe(1);
    expect(allowed6.spawns).toBe(1);
    expect(v4.requests.map((r) => r.url)).toEqual(['/live.m3u8']);
    expect(v6.requests.map((r) => r.url)).toEqual(['/live.m3u8']);
  }, 30_000);

  it('rtmp://127.0.0.1 and its odd spellings never start ffmpeg; allow-listed, the server gets the connection', async () => {
    const rtmp = await server();
    for (const host of ['127.0.0.1', '0x7f000001', '2130706433', '127.1', '[::ffff:127.0.0.1]']) {
      refusedBeforeAnything(await probe(`rtmp://${host}:${rtmp.port}/live/key`));
    }
    expect(rtmp.connections).toBe(0);
    const allowed = await probe(`rtmp://127.0.0.1:${rtmp.port}/live/key`, { allowHosts: ['127.0.0.0/8'] });
    expect(allowed.spawns).toBe(1);
    expect(rtmp.connections).toBeGreaterThan(0);
  }, 30_000);
});

describe('metadata services and private ranges are refused before any connection', () => {
  it.each([
    'http://169.254.169.254/latest/meta-data/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'http://metadata.goog/',
    'http://100.100.100.200/latest/meta-data/',
    'http://10.0.0.1/live.m3u8',
    'http://172.16.0.1/live.m3u8',
    'http://172.31.255.254/live.m3u8',
    'http://192.168.1.1/live.m3u8',
    'http://[fd00::1]/live.m3u8',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://[fe80::1]/live.m3u8',
    'http://[::ffff:169.254.169.254]/',
    'rtmp://169.254.169.254/live/key',
    'rtmp://10.1.2.3/live/key',
    'rtmps://192.168.0.5/live/key',
    'srt://100.64.0.1:9000',
    'srt://[fd12:3456::1]:9000',
  ])('%s', async (url) => {
    // A resolver that would answer with a public address: denied names must not even be looked up.
    const dns = resolver({ 'metadata.google.internal': '93.184.216.34', 'metadata.goog': '93.184.216.34' });
    refusedBeforeAnything(await probe(url, {}, dns));
    expect(dns.asked).toEqual([]);
  });

  it('a name that resolves into a denied range is refused, even when only one of its addresses is', async () => {
    const dns = resolver({ 'stream.example': ['93.184.216.34', '10.0.0.8'], 'meta.example': '169.254.169.254' });
    refusedBeforeAnything(await probe('http://stream.example/live.m3u8', {}, dns));
    refusedBeforeAnything(await probe('rtmp://meta.example/live/key', {}, dns));
  });
});

describe('every connection ffmpeg makes goes through the policy', () => {
  it('a playlist on an allowed host naming a segment on another host: the other host gets nothing, the source is refused', async () => {
    const other = await server({ host: '127.0.0.2' });
    const origin = await server({ handler: playlist(mediaPlaylist(`http://${other.authority}/seg0.ts`)) });
    const r = await probe(
      `http://media.test:${origin.port}/live.m3u8`,
      { allowHosts: ['media.test'] },
      resolver({ 'media.test': '127.0.0.1' }),
    );
    expect(origin.requests.map((q) => [q.url, q.host])).toEqual([['/live.m3u8', `media.test:${origin.port}`]]);
    expect(other.connections).toBe(0);
    expect(r.blocked).toContainEqual({ kind: 'refused' });
    expect((r.error as SourceFailedError).lastCause.code).toBe('source_refused');
  }, 30_000);

  it('a master playlist naming a variant on another host: refused the same way', async () => {
    const other = await server({ host: '127.0.0.3' });
    const dns = resolver({ 'media.test': '127.0.0.1', 'variants.test': '127.0.0.3' });
    const origin = await server({
      handler: playlist(['#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=320x240', `http://variants.test:${other.port}/v.m3u8`]),
    });
    const r = await probe(`http://media.test:${origin.port}/master.m3u8`, { allowHosts: ['media.test'] }, dns);
    expect(other.connections).toBe(0);
    expect((r.error as SourceFailedError).lastCause.code).toBe('source_refused');
  }, 30_000);

  it('a 302 to another port on loopback is not followed', async () => {
    const target = await server();
    const origin = await server({
      handler: (_req, res) => res.writeHead(302, { location: `http://127.0.0.1:${target.port}/admin` }).end(),
    });
    const r = await probe(
      `http://media.test:${origin.port}/live.m3u8`,
      { allowHosts: ['media.test'] },
      resolver({ 'media.test': '127.0.0.1' }),
    );
    expect(origin.requests).toHaveLength(1);
    expect(target.connections).toBe(0);
    expect((r.error as SourceFailedError).lastCause.code).toBe('source_refused');
  }, 30_000);

  it('DNS rebinding: the name is checked again at every connection, and the connection goes to the address checked', async () => {
    // The same port on an allow-listed and on a denied address.
    const denied = await server({ host: '127.0.0.4' });
    const origin = await server({ port: denied.port, handler: playlist(mediaPlaylist('seg0.ts')) });
    // First answer: the allow-listed address; every later one: the denied address.
    let calls = 0;
    const rebinding: Lookup = async () => [{ address: calls++ === 0 ? '127.0.0.1' : '127.0.0.4', family: 4 }];
    const r = await probe(`http://rebind.test:${origin.port}/live.m3u8`, { allowHosts: ['127.0.0.1/32'] }, rebinding);
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(origin.requests).toHaveLength(0);
    expect(denied.connections).toBe(0);
    expect((r.error as SourceFailedError).lastCause.code).toBe('source_refused');
  }, 30_000);
});

describe('SRT', () => {
  it.each(['mode=listener', 'mode=rendezvous', 'streamid=a&mode=listener', 'listen_timeout=100000', 'ipttl=1'])(
    'srt://127.0.0.1:port?%s is refused before ffmpeg starts (no socket is ever opened)',
    async (query) => {
      const r = await probe(`srt://127.0.0.1:9710?${query}`, { allowHosts: ['127.0.0.1'] });
      refusedBeforeAnything(r);
    },
  );
});

describe('TLS is verified', () => {
  it('https: a self-signed server never receives a request', async () => {
    const evil = await server({ tls: pki.selfSigned('media.test') });
    const r = await probe(
      `https://media.test:${evil.port}/live.m3u8`,
      { allowHosts: ['media.test'] },
      resolver({ 'media.test': '127.0.0.1' }),
    );
    expect(evil.requests).toEqual([]);
    expect(evil.tlsErrors).toBeGreaterThan(0);
    expect(r.blocked).toContainEqual({ kind: 'tls' });
    expect(r.error).toBeInstanceOf(SourceFailedError);
  }, 30_000);

  it('https: a trusted playlist naming segments on a self-signed host: that host never receives a request', async () => {
    const evil = await server({ tls: pki.selfSigned('segments.test') });
    const good = await server({
      tls: pki.issued('media.test'),
      handler: playlist(mediaPlaylist(`https://segments.test:${evil.port}/seg0.ts`)),
    });
    const dns = resolver({ 'media.test': '127.0.0.1', 'segments.test': '127.0.0.1' });
    const r = await probe(
      `https://media.test:${good.port}/live.m3u8`,
      { allowHosts: ['media.test', 'segments.test'], tlsCaFile: pki.caFile },
      dns,
    );
    // The trusted host is reached: the CA file is honoured by ffmpeg and the proxy alike.
    expect(good.requests.map((q) => q.url)).toEqual(['/live.m3u8']);
    expect(evil.requests).toEqual([]);
    expect(r.blocked).toContainEqual({ kind: 'tls' });
  }, 30_000);

  it('rtmps: a self-signed server receives no application bytes', async () => {
    const evil = await server({ tls: pki.selfSigned('media.test'), rawTls: true });
    const r = await probe(
      `rtmps://media.test:${evil.port}/live/key`,
      { allowHosts: ['media.test'] },
      resolver({ 'media.test': '127.0.0.1' }),
    );
    expect(evil.tlsBytes).toBe(0);
    expect(evil.tlsErrors).toBeGreaterThan(0);
    expect(r.blocked).toContainEqual({ kind: 'tls' });
    expect(r.error).toBeInstanceOf(SourceFailedError);
  }, 30_000);
});

describe('allowed sources still work through the policy', () => {
  const sources: LiveSource[] = [];
  afterAll(async () => {
    await Promise.all(sources.splice(0).map((x) => x.stop()));
  });
  async function firstFrame(url: string, options: SamplerInput, lookup: Lookup): Promise<number> {
    const s = createSampler({
      url,
      streamId: 'ok',
      ffmpeg,
      logger: capturingLogger().logger,
      lookup,
      options: samplerOptions({ scaleMode: 'exact', width: 64, height: 64, ...options }),
    });
    try {
      for await (const f of s.frames()) return f.width;
      throw new Error('no frame');
    } finally {
      await s.stop();
    }
  }

  it('rtmp by name: ffmpeg is given the checked address (it could not resolve media.test itself)', async () => {
    const src = await startLiveSource({ kind: 'rtmp', streamKey: 'k' });
    sources.push(src);
    const url = src.url.replace('127.0.0.1', 'media.test');
    expect(await firstFrame(url, { allowHosts: ['media.test'] }, resolver({ 'media.test': '127.0.0.1' }))).toBe(64);
  }, 30_000);

  it('rtmps and https: through the proxy, with the certificate verified against the configured CA', async () => {
    const rtmp = await startLiveSource({ kind: 'rtmp', streamKey: 'k' });
    const hls = await startLiveSource({ kind: 'hls' });
    sources.push(rtmp, hls);
    const cert = pki.issued('media.test');
    const rtmps = await tlsTerminator(rtmp.port, cert);
    const https = await tlsTerminator(hls.port, cert);
    const dns = resolver({ 'media.test': '127.0.0.1' });
    const options = { allowHosts: ['media.test'], tlsCaFile: pki.caFile };
    expect(await firstFrame(`rtmps://media.test:${rtmps.port}/live/k`, options, dns)).toBe(64);
    expect(await firstFrame(hls.url.replace(`http://127.0.0.1:${hls.port}`, `https://media.test:${https.port}`), options, dns)).toBe(64);
  }, 60_000);
});

/** TLS in front of a plain TCP service on 127.0.0.1 (an rtmps or https server made from an rtmp or http one). */
async function tlsTerminator(targetPort: number, cert: { cert: string; key: string }): Promise<{ port: number }> {
  const srv = createTlsServer(cert, (client) => {
    const up = connect(targetPort, '127.0.0.1');
    client.pipe(up).pipe(client);
    const end = (): void => {
      client.destroy();
      up.destroy();
    };
    client.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  servers.push({ close: () => new Promise<void>((r) => srv.close(() => r())) } as LoggingServer);
  return { port: (srv.address() as AddressInfo).port };
}

describe('failure events cannot be used to scan ports through the worker', () => {
  it('404, refused and no answer end in the same event; the detail is only in the logs', async () => {
    const notFound = await server();
    const silent = await server({ handler: () => {} });
    const closed = await server();
    const closedPort = closed.port;
    await closed.close();
    const allow = { allowHosts: ['127.0.0.1'] };
    const start = (url: string) => ({ streamId: 'scan', url, metadata: {} });
    const results = await Promise.all(
      [`http://127.0.0.1:${notFound.port}/a.m3u8`, `http://127.0.0.1:${closedPort}/a.m3u8`, `http://127.0.0.1:${silent.port}/a.m3u8`].map(
        async (url) => ({ url, r: await probe(url, allow) }),
      ),
    );
    const events = results.map(({ url, r }) => {
      expect(r.error).toBeInstanceOf(SourceFailedError);
      const { code, message, attempts } = screeningFailureEvent({ start: start(url), runId: 'r', workerId: 'w', error: r.error });
      return { code, message, attempts };
    });
    expect(events).toEqual(new Array(3).fill({ code: 'source_unreachable', message: 'the source could not be read', attempts: undefined }));
    // The logs keep what happened, for the operator.
    expect(results[0]!.r.logs.join('\n')).toMatch(/404/);
  }, 30_000);

  it('a refused source is reported as refused, with nothing about the address', () => {
    const err = new SourceFailedError(
      'http://10.0.0.1/***',
      1,
      new SourceError('source_refused', 'source policy: 10.0.0.1 is a private address'),
    );
    const ev = screeningFailureEvent({
      start: { streamId: 's', url: 'http://10.0.0.1/x', metadata: {} },
      runId: 'r',
      workerId: 'w',
      error: err,
    });
    expect(ev).toMatchObject({ code: 'source_refused', message: "the source is not allowed by the worker's source policy" });
    expect(ev).not.toHaveProperty('attempts');
  });
});

describe('a source that never answers', () => {
  it('gives its slot back within the connect budget, however many restarts are left', async () => {
    const silent = await server({ handler: () => {} });
    const t0 = Date.now();
    const r = await probe(`http://127.0.0.1:${silent.port}/live.m3u8`, {
      allowHosts: ['127.0.0.1'],
      maxRestarts: 100,
      backoffBaseMs: 100,
      backoffMaxMs: 200,
      rwTimeoutMs: 5_000,
      connectBudgetMs: 2_000,
    });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect((r.error as SourceFailedError).lastCause.message).toMatch(/connect budget/);
  }, 30_000);
});
