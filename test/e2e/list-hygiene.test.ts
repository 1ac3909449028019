import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { KillSwitchEvent, QuarantineEvent } from '../../src/contracts/index.js';
import { pdqToHex } from '../../src/domain/pdq.js';
import { createPdqHasher } from '../../src/hash/pdq-hasher.js';
import { startWorker, type Worker } from '../../src/worker/app/start-worker.js';
import { readRgbImage } from '../../src/worker/sampler/image-file.js';
import { eventually } from '../support/eventually.js';
import { collectEvents, samplerPids, type EventCollector } from '../support/jetstream-events.js';
import { startLiveSource, type LiveSource } from '../support/live-source.js';
import { ALLOW_LOOPBACK } from '../support/egress.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

// List hygiene on real parts: nats-server (JetStream, the quarantine KV bucket), live RTMP
// sources served by ffmpeg on 127.0.0.1, the worker's sampler, PDQ and matcher. Lists hold the
// hashes of benign test images; classifiers are off (hash screening is what is under test).

const BRIDGE = fileURLToPath(new URL('../../../shared/pdq-vectors/decoded/bridge-1-original.png', import.meta.url));
const PEN = fileURLToPath(new URL('../../../shared/pdq-vectors/decoded/pen-and-coaster.png', import.meta.url));

describe('list hygiene end to end', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let worker: Worker;
  let kills: EventCollector<KillSwitchEvent>;
  let quarantines: EventCollector<QuarantineEvent>;
  let bridgeHash: string;
  const sources: LiveSource[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await server.connect();
    const dir = mkdtempSync(join(tmpdir(), 'streamscreen-hygiene-'));
    const hasher = createPdqHasher();
    bridgeHash = pdqToHex(hasher.hash(await readRgbImage(BRIDGE)).hash);
    const penHash = pdqToHex(hasher.hash(await readRgbImage(PEN)).hash);
    writeFileSync(join(dir, 'confirmed.txt'), `${bridgeHash}\tbridge-case\n${penHash}\tpen-case\n`);
    // The pen picture is also a known false match (a platform's card, say): frames showing it act on nothing.
    writeFileSync(join(dir, 'benign.txt'), `${penHash}\tstudio card\n`);
    const loaded = loadConfig({
      env: { NATS_URL: server.url, PATH: process.env.PATH },
      cwd: dir,
      overrides: {
        metrics: { port: 0, host: '127.0.0.1' },
        // Fixed admission: test files run side by side, and measured admission reads the host's CPU.
        worker: { admission: 'fixed', id: 'hygiene', shutdownGraceMs: 500 },
        classify: { enabled: false },
        // Loopback sources: allow-listed, the source policy refuses them by default.
        sampler: { stallTimeoutMs: 8_000, maxRestarts: 2, backoffBaseMs: 200, allowHosts: ALLOW_LOOPBACK },
        hash: {
          lists: [
            { id: 'confirmed', path: join(dir, 'confirmed.txt'), action: 'kill' },
            { id: 'benign', path: join(dir, 'benign.txt'), action: 'negative', maxDistance: 31 },
          ],
          // One stream may match an entry; a second within the window quarantines it.
          quarantine: { maxStreams: 1, windowMs: 600_000 },
        },
      },
    });
    worker = await startWorker(loaded, pino({ level: process.env.E2E_LOG ?? 'silent' }));
    kills = await collectEvents<KillSwitchEvent>(nc, 'SCREENING_DECISIONS', 'screening.killswitch.>');
    quarantines = await collectEvents<QuarantineEvent>(nc, 'SCREENING_DECISIONS', 'screening.quarantine');
  }, 60_000);

  afterAll(async () => {
    await kills?.stop();
    await quarantines?.stop();
    await worker?.stop(0);
    await Promise.all(sources.map((s) => s.stop()));
    await nc?.close();
    await server?.stop();
  });

  const startStream = async (streamId: string, image: string): Promise<LiveSource> => {
    const source = await startLiveSource({ kind: 'rtmp', image, streamKey: `hygiene-${streamId}` });
    sources.push(source);
    await jetstream(nc).publish(`streams.started.${streamId}`, JSON.stringify({ streamId, url: source.url }));
    return source;
  };

  it('a frame a negative list recognises is not acted on; the suppressed match is counted', async () => {
    const source = await startStream('card-1', PEN);
    await eventually(() => samplerPids(source.url).length > 0 || undefined, 15_000, 'sampler for card-1');
    await eventually(
      async () =>
        (await metric(worker, 'streamscreen_hash_matches_suppressed_total{list="confirmed",by="benign"}')) >= 2 ? true : undefined,
      25_000,
      'suppressed matches',
    );
    expect(kills.events.filter((e) => e.streamId === 'card-1')).toEqual([]);
  }, 45_000);

  it('an entry matching on more streams than the quarantine allows stops acting and is reported once', async () => {
    await startStream('flood-1', BRIDGE);
    const first = await kills.waitFor((e) => e.streamId === 'flood-1', 25_000);
    expect(first.match).toMatchObject({ list: 'confirmed', hash: bridgeHash, action: 'kill' });

    await startStream('flood-2', BRIDGE);
    const q = await quarantines.waitFor((e) => e.state === 'quarantined', 25_000);
    expect(q).toMatchObject({ list: 'confirmed', hash: bridgeHash, label: 'bridge-case', streams: 2, maxStreams: 1 });
    expect(q.by).toMatch(/^hygiene-/);
    expect([...q.streamIds].sort()).toEqual(['flood-1', 'flood-2']);
    // Frames of the quarantined entry keep being counted, and nothing kills the second stream.
    await eventually(
      async () => ((await metric(worker, 'streamscreen_hash_matches_quarantined_total{list="confirmed"}')) >= 2 ? true : undefined),
      15_000,
      'quarantined matches counted',
    );
    expect(kills.events.filter((e) => e.streamId === 'flood-2')).toEqual([]);
    expect(quarantines.events.filter((e) => e.state === 'quarantined')).toHaveLength(1);
  }, 60_000);
});

async function metric(worker: Worker, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(series))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}
