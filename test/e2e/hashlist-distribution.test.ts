import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as hashlist } from '../../src/cli/commands/hashlist.js';
import { loadConfig } from '../../src/config/index.js';
import type { KillSwitchEvent } from '../../src/contracts/index.js';
import { pdqToHex } from '../../src/domain/pdq.js';
import { createPdqHasher } from '../../src/hash/pdq-hasher.js';
import { startWorker, type Worker } from '../../src/worker/app/start-worker.js';
import { readRgbImage } from '../../src/worker/sampler/image-file.js';
import { captureIO } from '../support/capture-io.js';
import { collectEvents, type EventCollector } from '../support/jetstream-events.js';
import { startLiveSource, type LiveSource } from '../support/live-source.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { ALLOW_LOOPBACK } from '../support/egress.js';

// A running worker with no hash lists at all; a list is then published to the Object Store with
// the operator's command. The worker must pick it up and kill the live stream, without a restart.

const BRIDGE = fileURLToPath(new URL('../../../shared/pdq-vectors/decoded/bridge-1-original.png', import.meta.url));

describe('hash list distribution over NATS', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let worker: Worker;
  let source: LiveSource;
  let kills: EventCollector<KillSwitchEvent>;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await server.connect();
    const loaded = loadConfig({
      env: { NATS_URL: server.url, PATH: process.env.PATH },
      cwd: mkdtempSync(join(tmpdir(), 'streamscreen-dist-')),
      overrides: {
        classify: { enabled: false },
        metrics: { enabled: false },
        // Fixed admission: test files run side by side, and measured admission reads the host's CPU.
        worker: { admission: 'fixed', id: 'dist-worker' },
        sampler: { allowHosts: ALLOW_LOOPBACK },
      },
    });
    worker = await startWorker(loaded, pino({ level: 'silent' }));
    kills = await collectEvents<KillSwitchEvent>(nc, 'SCREENING_DECISIONS', 'screening.killswitch.>');
    source = await startLiveSource({ kind: 'rtmp', image: BRIDGE, streamKey: 'dist' });
  }, 60_000);

  afterAll(async () => {
    await kills?.stop();
    await worker?.stop(0);
    await source?.stop();
    await nc?.close();
    await server?.stop();
  });

  it('kills a live stream once a list holding its image is published, without restarting the worker', async () => {
    await jetstream(nc).publish('streams.started.dist-1', JSON.stringify({ streamId: 'dist-1', url: source.url }));
    // Screened but unmatched: no list holds the image yet.
    await new Promise((r) => setTimeout(r, 4_000));
    expect(kills.events).toEqual([]);

    const dir = mkdtempSync(join(tmpdir(), 'streamscreen-list-'));
    const file = join(dir, 'partner-list.txt');
    writeFileSync(file, `${pdqToHex(createPdqHasher().hash(await readRgbImage(BRIDGE)).hash)}\tpartner-case-7\n`);
    const c = captureIO();
    const publishedAt = Date.now();
    const code = await hashlist(['publish', file, '--id', 'partner', '--action', 'kill', '--source', 'e2e'], c.io, {
      NATS_URL: server.url,
    });
    expect(code, c.err()).toBe(0);

    const kill = await kills.waitFor((e) => e.streamId === 'dist-1', 10_000);
    expect(kill.match).toMatchObject({ list: 'partner', label: 'partner-case-7', action: 'kill' });
    expect(Date.parse(kill.decidedAt) - publishedAt).toBeLessThan(10_000);
    expect(worker.ready().ready).toBe(true);
  }, 40_000);
});
