import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import type { KillSwitchEvent } from '../../src/contracts/index.js';
import { startWorker, type Worker } from '../../src/worker/app/start-worker.js';
import { parseVpdqPath } from '../../src/hash/parse-vpdq.js';
import { eventually } from '../support/eventually.js';
import { collectEvents, samplerPids, type EventCollector } from '../support/jetstream-events.js';
import { startLiveSource, type LiveSource } from '../support/live-source.js';
import { ALLOW_LOOPBACK } from '../support/egress.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

// Known videos matched live, on real parts: generated videos (lavfi pictures, slowly panned so
// every sampled second is a distinct frame) hashed to vPDQ by `streamscreen vpdq` (the built CLI),
// a worker with that known-video list on nats-server, and live RTMP streams served by ffmpeg on
// 127.0.0.1 that re-encode part of a video at another size and quality.

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));

/** Lavfi pictures (fractal views, a cellular automaton), each panned for `seconds`, concatenated. */
async function generatedVideo(dir: string, name: string, pictures: readonly string[], seconds: number): Promise<string> {
  const stills: string[] = [];
  for (const [i, source] of pictures.entries()) {
    const png = join(dir, `${name}-${i}.png`);
    await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', source, '-frames:v', '1', png]);
    stills.push(png);
  }
  const inputs = stills.flatMap((png) => ['-loop', '1', '-framerate', '15', '-t', String(seconds), '-i', png]);
  const pans = stills.map((_, i) => `[${i}:v]crop=480:360:'16+6*t':'12+4*t',setsar=1[v${i}]`).join(';');
  const out = join(dir, `${name}.mp4`);
  const concat = `${stills.map((_, i) => `[v${i}]`).join('')}concat=n=${stills.length}:v=1[v]`;
  await run(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-y', ...inputs, '-filter_complex', `${pans};${concat}`, '-map', '[v]'].concat([
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '18',
      '-pix_fmt',
      'yuv420p',
      out,
    ]),
  );
  return out;
}

describe('known videos (vPDQ) matched on live streams', () => {
  let dir: string;
  let known: string;
  let other: string;
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let worker: Worker;
  let kills: EventCollector<KillSwitchEvent>;
  const sources: LiveSource[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'streamscreen-vpdq-'));
    known = await generatedVideo(
      dir,
      'known',
      [
        'mandelbrot=size=640x480:start_scale=2.5',
        'mandelbrot=size=640x480:start_x=-0.743:start_y=0.131:start_scale=0.02:maxiter=1500',
        'mandelbrot=size=640x480:start_x=-1.25:start_y=0.02:start_scale=0.1:maxiter=1000',
      ],
      6,
    );
    other = await generatedVideo(
      dir,
      'other',
      [
        'mandelbrot=size=640x480:start_x=0.28:start_y=0.01:start_scale=0.05:maxiter=1500',
        'mandelbrot=size=640x480:start_x=-0.16:start_y=1.04:start_scale=0.03:maxiter=1200',
        'testsrc=size=640x480',
      ],
      6,
    );
    // The known-video list, as a platform builds it from a confirmed case.
    const videos = join(dir, 'videos');
    await run('mkdir', ['-p', videos]);
    await run(process.execPath, [CLI, 'vpdq', known, '--out', join(videos, 'case-17.vpdq')]);

    server = await startNatsServer();
    nc = await server.connect();
    const loaded = loadConfig({
      env: { NATS_URL: server.url, PATH: process.env.PATH },
      cwd: dir,
      overrides: {
        metrics: { port: 0, host: '127.0.0.1' },
        // Fixed admission: test files run side by side, and measured admission reads the host's CPU.
        worker: { admission: 'fixed', id: 'vpdq', shutdownGraceMs: 500 },
        classify: { enabled: false },
        // Loopback sources: allow-listed, the source policy refuses them by default.
        sampler: { stallTimeoutMs: 8_000, maxRestarts: 2, backoffBaseMs: 200, allowHosts: ALLOW_LOOPBACK },
        // A stream showing 6 s of the video in order is a match, whatever share of it that is.
        hash: { lists: [{ id: 'known-videos', path: videos, format: 'vpdq', action: 'kill', video: { minMatchedSeconds: 6 } }] },
      },
    });
    worker = await startWorker(loaded, pino({ level: process.env.E2E_LOG ?? 'silent' }));
    kills = await collectEvents<KillSwitchEvent>(nc, 'SCREENING_DECISIONS', 'screening.killswitch.>');
  }, 120_000);

  afterAll(async () => {
    await kills?.stop();
    await worker?.stop(0);
    await Promise.all(sources.map((s) => s.stop()));
    await nc?.close();
    await server?.stop();
  });

  it('streamscreen vpdq prints the reference format, parses back, and its frame hashes are streamscreen hash on the same frames', async () => {
    const frames = join(dir, 'frames');
    const { stdout } = await run(process.execPath, [CLI, 'vpdq', known, '--frames-dir', frames]);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(18); // 3 pictures x 6 s at the default 1 fps
    for (const [i, line] of lines.entries()) expect(line).toMatch(new RegExp(`^${i},\\d{1,3},[0-9a-f]{64},${i}\\.000$`));
    const parsed = await parseVpdqPath(join(dir, 'videos', 'case-17.vpdq'));
    expect(parsed.data.videos?.known).toEqual([expect.objectContaining({ id: 'case-17', frames: 18, duration: 17, step: 1 })]);

    const pngs = readdirSync(frames).sort();
    expect(pngs).toHaveLength(18);
    const hashed = await run(process.execPath, [CLI, 'hash', ...pngs.map((p) => join(frames, p))]);
    const fromHash = hashed.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(',').slice(0, 2).reverse().join(','));
    expect(lines.map((l) => l.split(',').slice(1, 3).join(','))).toEqual(fromHash);
    expect(readFileSync(join(dir, 'videos', 'case-17.vpdq'), 'utf8')).toBe(stdout);
  }, 60_000);

  it('a stream re-encoding part of the known video live is a video match, with its share and segment', async () => {
    const source = await startLiveSource({ kind: 'rtmp', video: known, videoStartSec: 3.4, videoSeconds: 12, streamKey: 'vpdq-known' });
    sources.push(source);
    await jetstream(nc).publish('streams.started.excerpt-1', JSON.stringify({ streamId: 'excerpt-1', url: source.url }));
    const kill = await kills.waitFor((e) => e.streamId === 'excerpt-1', 40_000);
    expect(kill).toMatchObject({ type: 'killswitch', reason: 'hash_match', match: { list: 'known-videos', action: 'kill' } });
    const video = kill.match!.video!;
    expect(video).toMatchObject({ id: 'case-17', videoFrames: 18, rule: 'run' });
    // Fired as soon as 6 s of the video's timeline matched in order, starting about where the excerpt starts.
    expect(video.segment.start).toBeGreaterThanOrEqual(3);
    expect(video.segment.start).toBeLessThanOrEqual(6);
    expect(video.segment.end - video.segment.start).toBeGreaterThanOrEqual(6);
    expect(video.segment.end).toBeLessThanOrEqual(16);
    expect(video.matchedFrames).toBeGreaterThanOrEqual(7);
    expect(video.share).toBeCloseTo(video.matchedFrames / 18, 3);
    expect(video.share).toBeLessThan(0.8);
    expect(video.queryShare).toBeGreaterThan(0.5);
    expect(kill.match!.distance).toBeLessThanOrEqual(31);
  }, 60_000);

  it('a stream showing a different generated video is screened and not matched', async () => {
    const source = await startLiveSource({ kind: 'rtmp', video: other, videoSeconds: 12, streamKey: 'vpdq-other' });
    sources.push(source);
    await jetstream(nc).publish('streams.started.other-1', JSON.stringify({ streamId: 'other-1', url: source.url }));
    await eventually(() => samplerPids(source.url).length > 0 || undefined, 15_000, 'sampler for other-1');
    await new Promise((r) => setTimeout(r, 12_000));
    expect(kills.events.filter((e) => e.streamId === 'other-1')).toEqual([]);
  }, 40_000);
});
