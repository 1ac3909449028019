/**
 * `npm run demo`: the whole path on one machine, in about ten seconds.
 * `npm run demo -- --ingest nginx`: the loop closed on a real nginx-rtmp (scripts/demo-ingest.ts).
 *
 * Starts a throw-away nats-server with JetStream, draws a benign image with ffmpeg (lavfi
 * mandelbrot) and puts its PDQ hash on a hash list, serves a synthetic live RTMP stream on
 * 127.0.0.1 that switches to that image a few seconds in, runs a worker, announces the stream
 * on NATS and prints the kill-switch event the worker publishes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { pino } from 'pino';
import { loadConfig } from '../src/config/index.js';
import type { KillSwitchEvent } from '../src/contracts/index.js';
import { pdqToHex } from '../src/domain/pdq.js';
import { createPdqHasher } from '../src/hash/pdq-hasher.js';
import { startWorker } from '../src/worker/app/start-worker.js';
import { readRgbImage } from '../src/worker/sampler/image-file.js';
import { defaultFfmpegPath, startLiveSource } from '../test/support/live-source.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { collectEvents } from '../test/support/jetstream-events.js';

const IMAGE_AFTER_S = 5;
const say = (text: string) => process.stdout.write(`demo: ${text}\n`);

async function main(): Promise<number> {
  const ingestAt = process.argv.indexOf('--ingest');
  if (ingestAt !== -1) {
    const kind = process.argv[ingestAt + 1];
    if (kind !== 'nginx') throw new Error(`--ingest ${kind ?? ''}: only 'nginx' (nginx-rtmp) runs here; SRS and MediaMTX are not packaged`);
    return (await import('./demo-ingest.js')).runIngestDemo();
  }
  const dir = mkdtempSync(join(tmpdir(), 'streamscreen-demo-'));
  const cleanups: Array<() => unknown> = [() => rmSync(dir, { recursive: true, force: true })];
  try {
    const nats = await startNatsServer().catch((err: unknown) => {
      throw new Error(`could not start nats-server (Debian: apt-get install nats-server): ${(err as Error).message}`);
    });
    cleanups.unshift(() => nats.stop());
    say(`nats-server with JetStream at ${nats.url}`);

    const image = join(dir, 'known-image.png');
    const ffmpeg = defaultFfmpegPath();
    const drawn = spawnSync(ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i', 'mandelbrot=s=640x480', '-frames:v', '1', '-y', image]);
    if (drawn.status !== 0) throw new Error(`ffmpeg could not draw the demo image: ${drawn.stderr.toString()}`);
    const hash = pdqToHex(createPdqHasher().hash(await readRgbImage(image)).hash);
    const list = join(dir, 'known-hashes.txt');
    writeFileSync(list, `# demo list: the PDQ hash of a drawn, benign image\n${hash}\tdemo-known-image\n`);
    say(`hash list ${list}: ${hash}`);

    const source = await startLiveSource({ kind: 'rtmp', pattern: 'testsrc2', image, imageAfterSec: IMAGE_AFTER_S, streamKey: 'demo' });
    cleanups.unshift(() => source.stop());
    say(`live RTMP source at ${source.url}: a test pattern, then the known image after ${IMAGE_AFTER_S} s`);

    const loaded = loadConfig({
      env: { NATS_URL: nats.url, STREAMSCREEN_HASH_LISTS: list, PATH: process.env.PATH, FFMPEG_PATH: process.env.FFMPEG_PATH },
      cwd: dir,
      overrides: {
        classify: { enabled: false },
        metrics: { host: '127.0.0.1', port: 0 },
        worker: { id: 'demo-worker' },
        // The demo's source is on loopback, which the source policy refuses unless allow-listed.
        sampler: { allowHosts: ['127.0.0.1'] },
      },
    });
    const worker = await startWorker(loaded, pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2)));
    cleanups.unshift(() => worker.stop(0));
    say(`worker ${worker.workerId} ready; metrics at http://127.0.0.1:${worker.metricsPort}/metrics`);

    const nc = await nats.connect();
    cleanups.unshift(() => nc.close());
    const kills = await collectEvents<KillSwitchEvent>(nc, 'SCREENING_DECISIONS', 'screening.killswitch.>');
    cleanups.unshift(() => kills.stop());
    const announcedAt = Date.now();
    await jetstream(nc).publish('streams.started.demo-1', JSON.stringify({ streamId: 'demo-1', url: source.url, channel: 'demo' }));
    say('announced streams.started.demo-1; waiting for the known image to appear...');

    const kill = await kills.waitFor((e) => e.streamId === 'demo-1', 60_000);
    process.stdout.write(`${JSON.stringify(kill, null, 2)}\n`);
    say(
      `kill-switch for demo-1 on list '${kill.match!.list}' at distance ${kill.match!.distance}: ` +
        `${kill.latencyMs} ms from frame capture to decision, ` +
        `${((Date.parse(kill.decidedAt) - announcedAt) / 1000).toFixed(1)} s after the stream was announced ` +
        `(the image appears ${IMAGE_AFTER_S} s into the stream)`,
    );
    return 0;
  } finally {
    for (const cleanup of cleanups) await Promise.resolve(cleanup()).catch(() => undefined);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
