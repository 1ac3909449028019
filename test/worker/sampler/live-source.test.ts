import { capturingLogger } from '../../support/capture-logger.js';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { samplerOptions } from '../../support/stage-options.js';
import { probeFfmpeg, type FfmpegBinary } from '../../../src/worker/sampler/ffmpeg-binary.js';
import { createSampler, type Sampler } from '../../../src/worker/sampler/index.js';
import { ALLOW_LOOPBACK } from '../../support/egress.js';
import { startLiveSource, type LiveSource } from '../../support/live-source.js';
import { DEBIAN_FFMPEG, meanAbsDiff, SHARED_DECODED, take } from './helpers.js';

const IMAGE = join(SHARED_DECODED, 'bridge-1-original.png');
let ffmpeg: FfmpegBinary;
beforeAll(async () => {
  ffmpeg = await probeFfmpeg(DEBIAN_FFMPEG, 'path');
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});
async function live(opts: Parameters<typeof startLiveSource>[0]): Promise<LiveSource> {
  const src = await startLiveSource(opts);
  cleanups.push(() => src.stop());
  return src;
}
function sampler(url: string, options: Parameters<typeof samplerOptions>[0] = {}): Sampler {
  const s = createSampler({
    url,
    streamId: 'ls',
    ffmpeg,
    logger: capturingLogger().logger,
    // Loopback sources: allow-listed, the source policy refuses them by default.
    options: samplerOptions({ scaleMode: 'exact', width: 64, height: 64, allowHosts: ALLOW_LOOPBACK, ...options }),
  });
  cleanups.push(() => s.stop());
  return s;
}

describe('synthetic live sources', () => {
  it('RTMP: switches from the moving pattern to a still image after N seconds', async () => {
    const src = await live({ kind: 'rtmp', image: IMAGE, imageAfterSec: 2 });
    expect(src.url).toMatch(/^rtmp:\/\/127\.0\.0\.1:\d+\/live\/stream$/);
    // Every frame decoded: 2 fps from a source with a keyframe a second.
    const frames = await take(sampler(src.url, { fps: 2, decode: 'all' }), 8);
    const before = frames.filter((f) => f.pts < 1.9);
    const after = frames.filter((f) => f.pts >= 2.5);
    expect(before.length).toBeGreaterThanOrEqual(2);
    expect(after.length).toBeGreaterThanOrEqual(2);
    // testsrc2 moves between samples; the image does not.
    expect(meanAbsDiff(before[0]!.data, before[1]!.data)).toBeGreaterThan(2);
    expect(meanAbsDiff(after[0]!.data, after[1]!.data)).toBeLessThan(2);
    expect(meanAbsDiff(before.at(-1)!.data, after[0]!.data)).toBeGreaterThan(10);
  });

  it('HLS: several consumers at once, and a consumer restart, all get the same still image', async () => {
    const src = await live({ kind: 'hls', image: IMAGE });
    expect(src.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/live\/index\.m3u8$/);
    const [a, b] = await Promise.all([take(sampler(src.url), 1), take(sampler(src.url), 1)]);
    expect(meanAbsDiff(a[0]!.data, b[0]!.data)).toBeLessThan(2);
    const first = sampler(src.url);
    await take(first, 1);
    await first.stop();
    const [c] = await take(sampler(src.url), 1);
    expect(meanAbsDiff(a[0]!.data, c!.data)).toBeLessThan(2);
    expect(src.sessions).toBeGreaterThanOrEqual(4);
  });

  it('RTMP serves one client at a time and is back for the next (each session starts at t=0)', async () => {
    const src = await live({ kind: 'rtmp' });
    const s1 = sampler(src.url);
    const [f1] = await take(s1, 1);
    await s1.stop();
    const [f2] = await take(sampler(src.url), 1);
    expect(f1!.pts).toBeLessThan(3);
    expect(f2!.pts).toBeLessThan(3);
    expect(src.sessions).toBeGreaterThanOrEqual(1);
  });
});
