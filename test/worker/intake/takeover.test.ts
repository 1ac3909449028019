import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ingest } from '../../../src/worker/intake/index.js';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.js';
import { delay, harness, leaseBucket, makeIngest, publishStart, Recorder, testIngestConfig, type Harness } from './helpers.js';
import { eventually } from '../../support/eventually.js';

const fixture = fileURLToPath(new URL('./fixtures/worker.ts', import.meta.url));

/** The worker's stdout, line by line, for the test to wait on. */
function startWorker(url: string, workerId: string, options: object): { child: ChildProcess; lines: string[] } {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, url, workerId, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    lines.push(...parts);
  });
  return { child, lines };
}

describe('takeover after a worker is SIGKILLed', () => {
  let server: NatsServerHandle;
  let h: Harness;
  let child: ChildProcess | undefined;
  let survivor: Ingest | undefined;

  beforeAll(async () => {
    server = await startNatsServer();
    h = await harness(server.url);
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await survivor?.stop();
    await h?.close();
    await server?.stop();
  });

  it('another worker screens the stream within 10 s, with the production ack_wait and lease TTL', async () => {
    // Production timings (the config defaults: ack_wait 4 s, lease TTL 6 s), test-local stream names.
    const production = { ackWaitMs: undefined, leaseTtlMs: undefined, heartbeatMs: undefined, pullExpiresMs: undefined };
    const worker = startWorker(server.url, 'worker-doomed', testIngestConfig('k1', production));
    child = worker.child;
    await eventually(() => worker.lines.includes('READY'), 20_000, 'child ready');
    await publishStart(h, 'k1', 'victim');
    await eventually(() => worker.lines.some((l) => l.startsWith('ASSIGNED victim')), 10_000, 'child assigned');

    const rec = new Recorder();
    survivor = makeIngest(h, 'k1', rec.onAssignment, { ingest: production }, 'worker-survivor');
    await survivor.start();
    // While the first worker lives, its working() and renewals keep the stream to itself.
    await delay(survivor.options.ackWaitMs + 1000);
    expect(rec.assignments).toHaveLength(0);

    const killedAt = Date.now();
    child.kill('SIGKILL');
    const taken = await eventually(() => rec.for('victim')[0], 15_000, 'takeover', 20);
    const tookMs = Date.now() - killedAt;
    console.log(`takeover after SIGKILL: ${tookMs} ms (ack_wait ${production.ackWaitMs} ms, lease TTL ${production.leaseTtlMs} ms)`);
    expect(tookMs).toBeLessThan(10_000);
    expect(taken.workerId).toBe('worker-survivor');
    const lease = await (await leaseBucket(h, 'k1')).get('victim');
    expect(lease?.json<{ workerId: string }>().workerId).toBe('worker-survivor');
    expect(child.signalCode).toBe('SIGKILL');
  }, 60_000);
});
