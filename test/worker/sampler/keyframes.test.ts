import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Listeners } from '../../../src/domain/hooks.js';
import type { RawFrame } from '../../../src/domain/frame.js';
import { hammingDistance, type PdqHash } from '../../../src/domain/pdq.js';
import type { WorkerEvents } from '../../../src/worker/events.js';
import { createPdqHasher } from '../../../src/hash/pdq-hasher.js';
import { probeFfmpeg, type FfmpegBinary } from '../../../src/worker/sampler/ffmpeg-binary.js';
import { readRgbImage } from '../../../src/worker/sampler/image-file.js';
import type { Sampler } from '../../../src/worker/sampler/index.js';
import type { ConfigInput } from '../../../src/config/index.js';
import { samplerOptions } from '../../support/stage-options.js';
import { ALLOW_LOOPBACK } from '../../support/egress.js';
import { startLiveSource, type LiveSource } from '../../support/live-source.js';
import { startNginxRtmp } from '../../support/nginx-rtmp.js';
import { spawnWithLifeline, terminate } from '../../../src/worker/sampler/lifeline.js';
import { buildDemuxArgs } from '../../../src/worker/sampler/ffmpeg-args.js';
import { FlvKeyframeRelay } from '../../../src/worker/sampler/flv-keyframes.js';
import { parseSourceUrl } from '../../../src/worker/sampler/source-url.js';
import { DEBIAN_FFMPEG, SHARED_DECODED, take, waitUntil, loopbackSampler, allFrames, framesCapturedAfter } from './helpers.js';

// Keyframe-aware sampling on real ffmpeg. A clip like a platform's ingest (H.264 with B-frames,
// a keyframe every 2 s, 30 fps) shows a synthetic pattern and then a benign listed image; the
// sampler reads it decoding every frame at 1 fps and decoding keyframes only.

const IMAGE = join(SHARED_DECODED, 'bridge-1-original.png');
const PDQ_MATCH = 31;
const execFileP = promisify(execFile);
const hasher = createPdqHasher();

let dir: string;
let clip: string;
let ffmpeg: FfmpegBinary;
let listHash: PdqHash;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'streamscreen-keyframes-'));
  // FLV, the container RTMP carries.
  clip = join(dir, 'ingest.flv');
  // 8 s at 30 fps, 640x360, image from 3 s; libx264 with two B-frames and a fixed 2 s GOP. The
  // image is scaled once first: decoding the full-size PNG for every looped frame is slow.
  const still = join(dir, 'still.png');
  const run = (args: string[]) => execFileP(DEBIAN_FFMPEG, ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
  await run(['-i', IMAGE, '-vf', 'scale=640:360', still]);
  await run([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=640x360:rate=30:duration=8',
    '-loop',
    '1',
    '-framerate',
    '30',
    '-i',
    still,
    '-filter_complex',
    "[0:v][1:v]overlay=eof_action=repeat:enable='gte(t,3)':shortest=1,format=yuv420p[v]",
    '-map',
    '[v]',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-bf',
    '2',
    '-g',
    '60',
    '-keyint_min',
    '60',
    '-sc_threshold',
    '0',
    '-b:v',
    '1M',
    clip,
  ]);
  ffmpeg = await probeFfmpeg(DEBIAN_FFMPEG, 'path');
  listHash = hasher.hash(await readRgbImage(IMAGE)).hash;
}, 60_000);

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sampler(url: string, options: ConfigInput['sampler'], events: Listeners<WorkerEvents> = {}): Sampler {
  const s = loopbackSampler({ url, streamId: 'kf', ffmpeg, options, events });
  cleanups.push(() => s.stop());
  return s;
}

describe('keyframes-only decoding against full decoding of the same source', () => {
  it('catches the same listed image, and a keyframe decodes to the same pixels and hash (distance 0)', async () => {
    const file = { allowFiles: true, fileRealtime: false } as const;
    const full = await allFrames(sampler(clip, { ...file, decode: 'all', fps: 1 }));
    const keys = await allFrames(sampler(clip, { ...file, decode: 'keyframes', fps: 1 }));
    // Every frame, for comparing each keyframe with the same frame decoded in full.
    const every = await allFrames(sampler(clip, { ...file, decode: 'all', fps: 30, maxQueuedFrames: 300 }));

    // 1 fps over 8 s (pts 0.067 to 8.0: FLV shows the first picture 2 frames after the first
    // decoded one, the B-frame delay), against one keyframe every 2 s.
    expect(full.map((f) => Math.floor(f.pts))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(keys.map((f) => f.pts)).toEqual([0, 2, 4, 6].map((t) => expect.closeTo(t + 2 / 30, 3)));

    const distance = (f: RawFrame): number => hammingDistance(hasher.hash(f).hash, listHash);
    const caught = (frames: RawFrame[]): number[] => frames.filter((f) => distance(f) <= PDQ_MATCH).map((f) => Math.floor(f.pts));
    // Both modes catch the image (shown from 3 s of the source, pts 3.067): every sampled frame
    // from then on and none before (the 1 fps frame at pts 3.0 is the last one without it).
    expect(caught(full)).toEqual([4, 5, 6, 7, 8]);
    expect(caught(keys)).toEqual([4, 6]);

    const moved: number[] = [];
    for (const k of keys) {
      const same = every.find((f) => f.pts === k.pts)!;
      expect(Buffer.compare(Buffer.from(k.data), Buffer.from(same.data)), `pixels at ${k.pts} s`).toBe(0);
      moved.push(hammingDistance(hasher.hash(k).hash, hasher.hash(same).hash));
    }
    console.info(
      `keyframe vs the same frame decoded in full: PDQ distance ${moved.join(', ')} bits (pts ${keys.map((k) => k.pts).join(', ')})`,
    );
    expect(moved).toEqual([0, 0, 0, 0]);
  }, 60_000);
});

describe('keyframes of a B-frame stream (the end-of-sequence relay)', () => {
  it('come out as soon as they arrive, not two GOPs later, and match the full decode frame for frame', async () => {
    // nginx-rtmp serves the stream to both samplers at once; the encoder uses 2 B-frames (the
    // decoder then holds 2 pictures before output) and a keyframe a second.
    const rtmp = await startNginxRtmp();
    cleanups.push(() => rtmp.stop());
    const url = rtmp.rtmpUrl('live', 'bframes');
    const encoder = spawnWithLifeline(DEBIAN_FFMPEG, [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x240:rate=15',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-bf',
      '2',
      '-g',
      '15',
      '-keyint_min',
      '15',
      '-sc_threshold',
      '0',
      '-pix_fmt',
      'yuv420p',
      '-f',
      'flv',
      url,
    ]);
    encoder.stdout.resume();
    encoder.stderr.resume();
    cleanups.push(() => terminate(encoder, { graceful: false, graceMs: 1000 }));
    await new Promise((r) => setTimeout(r, 1500));
    // Every frame of the full decode (keyframes sit 2 frames into each second: the B-frame delay).
    const [full, keys, sparse] = await Promise.all([
      // fps 30 on a 15 fps source: every frame passes (at 15, frames whose millisecond timestamps
      // round into the previous 1/15 s slot would be left out).
      take(sampler(url, { decode: 'all', fps: 30, maxQueuedFrames: 30 }), 75),
      take(sampler(url, { decode: 'keyframes' }), 5),
      // 1 fps: the decoder skips the frames nothing is predicted from (ffmpeg-args.ts).
      take(sampler(url, { decode: 'all', fps: 1 }), 4),
    ]);
    const pairs = keys.flatMap((k) => {
      const f = full.find((x) => Math.abs(x.pts - k.pts) < 0.001);
      return f ? [{ k, f }] : [];
    });
    console.info(
      full.map((f) => f.pts),
      keys.map((k) => k.pts),
    );
    expect(pairs.length).toBeGreaterThanOrEqual(3);
    const laterMs = pairs.map(({ k, f }) => k.capturedAt - f.capturedAt);
    console.info(`keyframes-only vs full decoding, same frame: ${laterMs.join(', ')} ms later (two GOPs would be ~2000)`);
    for (const ms of laterMs) expect(ms).toBeLessThan(500);
    for (const { k, f } of pairs) expect(Buffer.compare(Buffer.from(k.data), Buffer.from(f.data))).toBe(0);

    // Each frame the 1 fps run samples is the same picture, to the byte (so PDQ distance 0), as
    // that frame when every frame is decoded; one a second, and not only keyframes.
    const sparsePairs = sparse.flatMap((s) => {
      const f = full.find((x) => Math.abs(x.pts - s.pts) < 0.001);
      return f ? [{ s, f }] : [];
    });
    console.info(`1 fps with non-reference frames skipped: pts ${sparse.map((s) => s.pts).join(', ')}`);
    expect(sparsePairs.length).toBeGreaterThanOrEqual(2);
    for (const { s, f } of sparsePairs) expect(Buffer.compare(Buffer.from(s.data), Buffer.from(f.data)), `pixels at ${s.pts} s`).toBe(0);
    for (let i = 1; i < sparse.length; i++) expect(sparse[i]!.pts - sparse[i - 1]!.pts).toBeCloseTo(1, 0);
  }, 40_000);
});

describe('auto decoding on live RTMP sources', () => {
  const live = async (gopSeconds: number): Promise<LiveSource> => {
    const src = await startLiveSource({ kind: 'rtmp', fps: 15, gopSeconds });
    cleanups.push(() => src.stop());
    return src;
  };

  it('stays on keyframes while they are 1 s apart, measuring the interval and the decode CPU', async () => {
    const src = await live(1);
    const cpu: number[] = [];
    const intervals: number[] = [];
    const s = sampler(
      src.url,
      { decode: 'auto' },
      {
        'sampler.decodeCpu': (e) => cpu.push(e.seconds),
        'sampler.keyframe': (e) => intervals.push(e.intervalMs),
      },
    );
    const frames = await take(s, 4);
    await waitUntil('a decode CPU reading', () => cpu.length > 0, 5_000);
    expect(s.stats()).toMatchObject({ decodeMode: 'keyframes', decodeSwitches: 0, restarts: 0 });
    // The source's keyframes, by its own timestamps.
    expect(intervals.length).toBeGreaterThanOrEqual(2);
    for (const ms of intervals) expect(ms).toBeCloseTo(1000, -1);
    // One frame per keyframe.
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.pts - frames[i - 1]!.pts).toBeCloseTo(1, 1);
    expect(cpu.every((c) => c > 0)).toBe(true);
  }, 30_000);

  it('falls back to decoding every frame when keyframes are 4 s apart, then samples at fps', async () => {
    const src = await live(4);
    const switches: WorkerEvents['sampler.decodeMode'][] = [];
    const s = sampler(src.url, { decode: 'auto', maxKeyframeIntervalMs: 2000 }, { 'sampler.decodeMode': (e) => switches.push(e) });
    const it = s.frames()[Symbol.asyncIterator]();
    await waitUntil('the switch to full decoding', () => switches.length >= 2, 15_000);
    expect(switches[0]).toEqual({ streamId: 'kf', mode: 'keyframes' });
    expect(switches[1]).toMatchObject({ streamId: 'kf', mode: 'all', previous: 'keyframes' });
    expect(['sparse_keyframes', 'no_keyframe']).toContain(switches[1]!.reason);
    // Frames from the full-decoding run come at 1 fps (the first one waits for a keyframe).
    const frames = await framesCapturedAfter(it, Date.now(), 3);
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.pts - frames[i - 1]!.pts).toBeCloseTo(1, 1);
    expect(s.stats()).toMatchObject({ decodeMode: 'all', decodeSwitches: 1, state: 'running' });
    // The test source (a listen-mode ffmpeg) needs a moment to serve its next client, so the
    // switch's reconnect may be refused once and retried; an ingest server accepts at once.
    expect(s.stats().restarts).toBeLessThanOrEqual(1);
  }, 40_000);
});

describe('the keyframe remuxer on a live RTMP source', () => {
  it('pipes the keyframes only: the frames between them are dropped by its demuxer, not by the relay', async () => {
    const src = await startLiveSource({ kind: 'rtmp', fps: 15, gopSeconds: 1 });
    cleanups.push(() => src.stop());
    const source = parseSourceUrl(src.url, { protocols: ffmpeg.protocols });
    const demux = spawnWithLifeline(DEBIAN_FFMPEG, buildDemuxArgs({ source, options: samplerOptions({ allowHosts: ALLOW_LOOPBACK }) }));
    cleanups.push(() => terminate(demux, { graceful: false, graceMs: 1000 }));
    demux.stderr.resume();
    const relay = new FlvKeyframeRelay();
    let chunks = 0;
    demux.stdout.on('data', (chunk: Buffer) => {
      chunks++;
      relay.push(chunk);
    });
    await waitUntil('four keyframes', () => relay.stats.keyframes >= 4, 15_000);
    // 15 frames a second arrive at the source; about one a second leaves the remuxer.
    console.info(`remuxer: ${chunks} pipe chunks, relay: ${JSON.stringify(relay.stats)}`);
    expect(relay.stats.dropped).toBe(0);
    expect(chunks).toBeLessThan(4 * relay.stats.keyframes + 4);
  }, 30_000);
});
