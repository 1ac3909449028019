import { ALLOW_LOOPBACK } from '../../support/egress.js';
import { capturingLogger } from '../../support/capture-logger.js';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { samplerOptions } from '../../support/stage-options.js';
import type { RawFrame } from '../../../src/domain/frame.js';
import { probeFfmpeg, type FfmpegBinary } from '../../../src/worker/sampler/ffmpeg-binary.js';
import { createSampler, SourceFailedError } from '../../../src/worker/sampler/index.js';
import { BUNDLED_FFMPEG, DEBIAN_FFMPEG, groupMembers, makeClip } from './helpers.js';

let dir: string;
let small: string;
let large: string;
const binaries: Record<string, FfmpegBinary> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'streamscreen-sampler-'));
  small = join(dir, 'small.mp4');
  large = join(dir, 'large.mp4');
  await Promise.all([
    makeClip(small, { size: '320x240', rate: 10, seconds: 3 }),
    makeClip(large, { size: '800x600', rate: 10, seconds: 1 }),
  ]);
  binaries.debian = await probeFfmpeg(DEBIAN_FFMPEG, 'path');
  if (existsSync(BUNDLED_FFMPEG)) binaries.bundled = await probeFfmpeg(BUNDLED_FFMPEG, 'bundled');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(frames: AsyncIterable<RawFrame>): Promise<RawFrame[]> {
  const out: RawFrame[] = [];
  for await (const f of frames) out.push(f);
  return out;
}

describe('sampling a local file (lavfi clip)', () => {
  for (const name of ['debian', 'bundled']) {
    it(`${name} ffmpeg: fps 2 over 3 s gives 6 frames with source pts, then ends`, async (ctx) => {
      const ffmpeg = binaries[name];
      if (!ffmpeg) return ctx.skip();
      const { logger } = capturingLogger();
      const s = createSampler({
        url: small,
        streamId: 'file-1',
        ffmpeg,
        logger,
        options: samplerOptions({ allowFiles: true, fileRealtime: false, fps: 2 }),
      });
      const frames = await collect(s.frames());
      await s.done;
      expect(frames.map((f) => f.seq)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(frames.map((f) => f.pts)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
      for (const f of frames) {
        expect(f).toMatchObject({ streamId: 'file-1', width: 320, height: 240 });
        expect(f.data.length).toBe(320 * 240 * 3);
      }
      // testsrc2 moves: consecutive samples are different pictures.
      expect(frames[0]!.data.equals(frames[1]!.data)).toBe(false);
      expect(s.stats()).toMatchObject({ state: 'ended', attempts: 1, framesEmitted: 6, framesEstimatedPts: 0 });
    });
  }

  it('shrink reduces a large source to 512x512; exact scales any source to the given size', async () => {
    const { logger } = capturingLogger();
    const ffmpeg = binaries.debian!;
    const shrink = createSampler({
      url: large,
      streamId: 'f',
      ffmpeg,
      logger,
      options: samplerOptions({ allowFiles: true, fileRealtime: false }),
    });
    const a = await collect(shrink.frames());
    expect(a.length).toBe(1);
    expect(a[0]).toMatchObject({ width: 512, height: 512 });
    expect(a[0]!.data.length).toBe(512 * 512 * 3);
    const exact = createSampler({
      url: small,
      streamId: 'f',
      ffmpeg,
      logger,
      options: samplerOptions({ allowFiles: true, fileRealtime: false, scaleMode: 'exact', width: 64, height: 48, fps: 1 }),
    });
    const b = await collect(exact.frames());
    expect(b.map((f) => [f.width, f.height, f.data.length])).toEqual([
      [64, 48, 64 * 48 * 3],
      [64, 48, 64 * 48 * 3],
      [64, 48, 64 * 48 * 3],
    ]);
  });

  it('fileRealtime paces a file like a live stream (about 1/fps apart)', async () => {
    const { logger } = capturingLogger();
    const s = createSampler({
      url: small,
      streamId: 'f',
      ffmpeg: binaries.debian!,
      logger,
      options: samplerOptions({ allowFiles: true, fps: 2 }),
    });
    const frames = await collect(s.frames());
    expect(frames.length).toBe(6);
    const gaps = frames.slice(1).map((f, i) => f.capturedAt - frames[i]!.capturedAt);
    const mean = gaps.reduce((x, y) => x + y, 0) / gaps.length;
    expect(mean).toBeGreaterThan(350);
    expect(mean).toBeLessThan(650);
  });

  it('a missing file fails at once (not retryable) and no ffmpeg is left', async () => {
    const { logger } = capturingLogger();
    const s = createSampler({
      url: join(dir, 'nope.mp4'),
      streamId: 'f',
      ffmpeg: binaries.debian!,
      logger,
      options: samplerOptions({ allowFiles: true, maxRestarts: 5 }),
    });
    const err = await collect(s.frames()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceFailedError);
    expect(err).toMatchObject({
      code: 'source_failed',
      retryable: false,
      attempts: 1,
      lastCause: { code: 'source_unreachable', retryable: false },
    });
    expect(s.stats()).toMatchObject({ state: 'failed', attempts: 1 });
  });

  it('logs each line with one streamId, also when the caller bound it already', async () => {
    for (const prebound of [false, true]) {
      const { logger, lines } = capturingLogger();
      const s = createSampler({
        url: large,
        streamId: 'bound-1',
        ffmpeg: binaries.debian!,
        logger: prebound ? logger.child({ streamId: 'bound-1' }) : logger,
        options: samplerOptions({ allowFiles: true, fileRealtime: false }),
      });
      await collect(s.frames());
      const mine = lines.filter((l) => l.includes('"component":"sampler"'));
      expect(mine.length).toBeGreaterThan(0);
      for (const l of mine) expect(l.match(/"streamId":/g)).toHaveLength(1);
    }
  });

  it('an HLS playlist pointing at a local file is refused by the protocol whitelist: terminal, no retries', async () => {
    const segment = join(dir, 'seg.ts');
    await promisify(execFile)(DEBIAN_FFMPEG, [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=160x120:rate=10:duration=2',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-f',
      'mpegts',
      segment,
    ]);
    const playlist = `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.0,\nfile://${segment}\n#EXT-X-ENDLIST\n`;
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl' }).end(playlist));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as { port: number }).port;
      for (const ffmpeg of Object.values(binaries)) {
        const { logger } = capturingLogger();
        const s = createSampler({
          url: `http://127.0.0.1:${port}/evil.m3u8`,
          streamId: 'evil',
          ffmpeg,
          logger,
          options: samplerOptions({ maxRestarts: 3, backoffBaseMs: 10, backoffMaxMs: 20, allowHosts: ALLOW_LOOPBACK }),
        });
        const err = await collect(s.frames()).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SourceFailedError);
        expect(err).toMatchObject({ attempts: 1, lastCause: { code: 'source_invalid', retryable: false } });
        expect((err as Error).message).toMatch(/Protocol 'file' not on whitelist/);
      }
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('refuses files unless allowed, synchronously', () => {
    const { logger } = capturingLogger();
    expect(() => createSampler({ url: small, streamId: 'f', ffmpeg: binaries.debian!, logger, options: samplerOptions() })).toThrow(
      /explicitly allowed/,
    );
  });

  it('stop() mid-file ends the frames and kills the ffmpeg group', async () => {
    const { logger } = capturingLogger();
    const s = createSampler({
      url: small,
      streamId: 'f',
      ffmpeg: binaries.debian!,
      logger,
      options: samplerOptions({ allowFiles: true, fps: 2 }),
    });
    const it = s.frames()[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    const pgid = s.stats().pid!;
    expect(groupMembers(pgid).some((p) => p.comm === 'ffmpeg')).toBe(true);
    await s.stop();
    expect(groupMembers(pgid)).toEqual([]);
    expect(await it.next()).toEqual({ value: undefined, done: true });
    expect(s.stats().state).toBe('stopped');
  });
});
