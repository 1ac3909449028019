import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { connectNats, watchConnection, type NatsConnectionSettings } from '../../src/nats/index.js';
import { capturingLogger } from '../support/capture-logger.js';
import { eventually } from '../support/eventually.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

const SECRET = 's3cr3t-pa55word';
const base = (url: string): NatsConnectionSettings => ({
  servers: [url],
  name: 'test',
  connectTimeoutMs: 2000,
  reconnectWaitMs: 100,
  reconnectJitterMs: 50,
});

describe('connectNats against a server that requires a login', () => {
  let server: NatsServerHandle;
  let dir: string;
  beforeAll(async () => {
    server = await startNatsServer({ config: `authorization { users = [ { user: "worker", password: "${SECRET}" } ] }\n` });
    dir = await mkdtemp(join(tmpdir(), 'nats-conn-'));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('logs in with user and password and never logs the secret', async () => {
    const { logger, lines } = capturingLogger();
    const nc = await connectNats({ ...base(server.url), user: 'worker', pass: SECRET }, logger);
    await nc.flush();
    await nc.close();
    expect(lines.some((l) => l.includes('"msg":"connected to NATS"') && l.includes('"auth":"user"'))).toBe(true);
    expect(lines.join('\n')).not.toContain(SECRET);
  });

  it('fails fast, as a terminal error, on a wrong password instead of retrying forever', async () => {
    const { logger } = capturingLogger();
    const started = Date.now();
    const err = await connectNats({ ...base(server.url), user: 'worker', pass: 'wrong' }, logger).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'NatsConnectError', code: 'nats_connect_failed', retryable: false });
    expect(String((err as Error).message)).not.toContain('wrong');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('takes credentials from NATS_URL out of the URL, as the client ignores them there', async () => {
    const url = new URL(server.url);
    url.username = 'worker';
    url.password = SECRET;
    const loaded = loadConfig({ env: { NATS_URL: url.toString() }, cwd: dir });
    expect(loaded.config.nats.url).toBe(server.url);
    expect(loaded.nats).toMatchObject({ servers: [server.url], user: 'worker', pass: SECRET });
    const nc = await connectNats(loaded.nats, capturingLogger().logger);
    await nc.close();
  });

  it('reads the password from a file named in the config', async () => {
    await writeFile(join(dir, 'pass'), `${SECRET}\n`);
    const loaded = loadConfig({ cwd: dir, overrides: { nats: { url: server.url, user: 'worker', passFile: 'pass' } } });
    const nc = await connectNats(loaded.nats, capturingLogger().logger);
    await nc.close();
  });

  it('lists every login problem at load', () => {
    expect(() =>
      loadConfig({ cwd: dir, overrides: { nats: { token: 't', user: 'u', passFile: 'missing', tls: { cert: 'c.pem' } } } }),
    ).toThrow(/choose one login[\s\S]*tls.cert and tls.key go together/);
    expect(() => loadConfig({ cwd: dir, overrides: { nats: { user: 'u', passFile: 'missing' } } })).toThrow(
      /nats.passFile: cannot read .*missing/,
    );
  });
});

describe('connectNats and an unreachable server', () => {
  it('gives up within its connect timeout instead of hanging start-up', async () => {
    const server = await startNatsServer();
    const url = server.url;
    await server.stop();
    const started = Date.now();
    const err = await connectNats({ ...base(url), connectTimeoutMs: 1000 }, capturingLogger().logger).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'nats_connect_failed', retryable: true });
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('reconnects after a server restart and reports the outage while it lasts', async () => {
    const server = await startNatsServer();
    try {
      const nc = await connectNats(base(server.url), capturingLogger().logger);
      const changes: boolean[] = [];
      const watch = watchConnection(nc, capturingLogger().logger, (c) => changes.push(c));
      expect(watch.connected()).toBe(true);
      await server.restart();
      await eventually(() => changes.length === 2, 10_000, 'a disconnect and a reconnect');
      expect(changes).toEqual([false, true]);
      expect(watch.connected()).toBe(true);
      await nc.close();
      expect(watch.connected()).toBe(false);
    } finally {
      await server.stop();
    }
  });
});
