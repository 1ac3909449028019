/**
 * Probe: secrets in logs and events. The worker CLI (node dist/src/cli.js worker, as deployed)
 * runs with a password in NATS_URL, is sent starts whose URLs carry stream keys and tokens (one
 * refused by the source policy, one that is not a valid event), and every line it logs and every
 * event it stores is searched for the secrets. Then a worker that cannot reach NATS at all: its
 * error output must not carry the password either.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetterEvent, ScreeningFailureEvent } from '../../../src/contracts/index.js';
import { buildDeadLetter } from '../../../src/worker/intake/dead-letter.js';
import { eventually } from '../../support/eventually.js';
import { freePort } from '../../support/free-port.js';
import { collectEvents } from '../../support/jetstream-events.js';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PASSWORD = 'n4ts-pa55word-that-must-not-leak';
const STREAM_KEY = 'sk_live_stream_key_that_must_not_leak';
const TOKEN = 'signed-token-that-must-not-leak';
const SECRETS = [PASSWORD, STREAM_KEY, TOKEN];

function spawnWorker(natsUrl: string, configFile: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['dist/src/cli.js', 'worker', '--config', configFile], {
    cwd: ROOT,
    env: { ...process.env, NATS_URL: natsUrl, LOG_LEVEL: 'debug' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

function configFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'streamscreen-secrets-'));
  const file = join(dir, 'streamscreen.json');
  writeFileSync(
    file,
    JSON.stringify({
      // Fixed admission: test files run side by side, and measured admission reads the host's CPU.
      worker: { admission: 'fixed', id: 'secrets-worker' },
      hash: { objectStore: { enabled: false } },
      classify: { enabled: false },
      metrics: { enabled: false },
      sampler: { maxRestarts: 0 },
    }),
  );
  return file;
}

describe('secrets never reach logs or events', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await server.connect();
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('the NATS password, stream keys and tokens appear in no log line and no stored event', async () => {
    // The test server has no login, so it accepts the credentials without checking them: what
    // matters here is where the worker writes them.
    const natsUrl = server.url.replace('nats://', `nats://streamscreen:${PASSWORD}@`);
    const worker = spawnWorker(natsUrl, configFile());
    try {
      await eventually(() => (worker.output().includes('"msg":"worker started"') ? true : undefined), 30_000, 'worker started');
      const dead = await collectEvents<DeadLetterEvent>(nc, 'SCREENING_DEADLETTER', 'screening.deadletter');
      const failures = await collectEvents<ScreeningFailureEvent>(nc, 'SCREENING_DECISIONS', 'screening.failure.>');
      const js = jetstream(nc);
      // Refused by the source policy (loopback), after being taken: a failure event.
      await js.publish(
        'streams.started.secret-1',
        JSON.stringify({ streamId: 'secret-1', url: `rtmp://127.0.0.1:1935/live/${STREAM_KEY}?token=${TOKEN}`, channel: 'c1' }),
      );
      // Not a valid event (bad startedAt): a dead letter, which must keep everything but the secrets.
      await js.publish(
        'streams.started.secret-2',
        JSON.stringify({ streamId: 'secret-2', url: `https://u:${PASSWORD}@cdn.example/live.m3u8?token=${TOKEN}`, startedAt: 'yesterday' }),
      );
      const failure = await failures.waitFor((e) => e.streamId === 'secret-1', 20_000);
      const letter = await dead.waitFor((e) => e.subject === 'streams.started.secret-2', 20_000);
      expect(failure).toMatchObject({ code: 'source_refused', url: 'rtmp://127.0.0.1:1935/live/***?token=***' });
      expect(JSON.parse(letter.payload)).toEqual({
        streamId: 'secret-2',
        url: 'https://***@cdn.example/live.m3u8?token=***',
        startedAt: 'yesterday',
      });
      await dead.stop();
      await failures.stop();

      const everything = [worker.output(), JSON.stringify(failure), JSON.stringify(letter)].join('\n');
      for (const secret of SECRETS) expect(everything).not.toContain(secret);
      // The log still says which server it is (the credentials were taken out of the URL at load).
      expect(worker.output()).toContain(`"nats":["${server.url}"]`);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
    for (const secret of SECRETS) expect(worker.output()).not.toContain(secret);
  }, 60_000);

  it('a worker that cannot reach NATS does not print the password on its way out', async () => {
    const worker = spawnWorker(`nats://streamscreen:${PASSWORD}@127.0.0.1:${await freePort()}`, configFile());
    const code = await worker.exited;
    expect(code).not.toBe(0);
    expect(worker.output().length).toBeGreaterThan(0);
    expect(worker.output()).not.toContain(PASSWORD);
  }, 60_000);
});

describe('dead letters keep the refused event, without its secrets', () => {
  const letter = (text: string) =>
    buildDeadLetter(
      { stream: 'S', seq: 1, subject: 'streams.started.x', data: new TextEncoder().encode(text) },
      'schema_invalid',
      ['x'],
      'w',
    );

  it('redacts the stream key, tokens and userinfo and keeps the rest byte for byte', () => {
    const text = `{"streamId":"x",  "url":"rtmp://ingest.example:1935/live/${STREAM_KEY}", "startedAt": "yesterday", "thumb": "https://cdn.example/t.jpg?sig=${TOKEN}"}`;
    expect(letter(text).payload).toBe(
      '{"streamId":"x",  "url":"rtmp://ingest.example:1935/live/***", "startedAt": "yesterday", "thumb": "https://cdn.example/t.jpg?sig=***"}',
    );
  });

  it('finds the URL however it is escaped, in broken JSON and in payloads that are not UTF-8', () => {
    const escaped = letter(`{"streamId":"x","url":"rtmp:\\/\\/ingest.example\\/live\\/${STREAM_KEY}"}`);
    expect(JSON.parse(escaped.payload)).toEqual({ streamId: 'x', url: 'rtmp://ingest.example/live/***' });
    expect(letter(`{"streamId":"x", url: "rtmp://h/live/${STREAM_KEY}"`).payload).toBe('{"streamId":"x", url: "rtmp://h/live/***"');
    const binary = new Uint8Array([0xff, ...new TextEncoder().encode(` rtmp://h/live/${STREAM_KEY} `), 0xfe]);
    const dl = buildDeadLetter({ stream: 'S', seq: 2, subject: 's', data: binary }, 'invalid_json', ['x'], 'w');
    expect(dl.payloadEncoding).toBe('base64');
    expect(Buffer.from(dl.payload, 'base64').toString('latin1')).toBe('\u00ff rtmp://h/live/*** \u00fe');
  });
});
