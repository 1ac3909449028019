import { capturingLogger } from '../../support/capture-logger.js';
import { existsSync } from 'node:fs';
import { createHooks } from '../../../src/domain/hooks.js';
import type { WorkerEvents } from '../../../src/worker/events.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { samplerOptions } from '../../support/stage-options.js';
import type { RawFrame } from '../../../src/domain/frame.js';
import { probeFfmpeg, type FfmpegBinary } from '../../../src/worker/sampler/ffmpeg-binary.js';
import { createSampler as createDenyingSampler, SourceFailedError, type Sampler } from '../../../src/worker/sampler/index.js';
import { ALLOW_LOOPBACK } from '../../support/egress.js';
import { freePort } from '../../support/free-port.js';
import { startLiveSource, type LiveSource } from '../../support/live-source.js';
import { BUNDLED_FFMPEG, DEBIAN_FFMPEG, groupMembers, take } from './helpers.js';

const binaries: Record<string, FfmpegBinary> = {};
beforeAll(async () => {
  binaries.debian = await probeFfmpeg(DEBIAN_FFMPEG, 'path');
  if (existsSync(BUNDLED_FFMPEG)) binaries.bundled = await probeFfmpeg(BUNDLED_FFMPEG, 'bundled');
});

// Everything a test starts is torn down even when it fails half-way.
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});
async function live(opts: Parameters<typeof startLiveSource>[0]): Promise<LiveSource> {
  const src = await startLiveSource(opts);
  cleanups.push(() => src.stop());
  return src;
}
// The sources here run on loopback, which the source policy refuses unless it is allow-listed.
const createSampler: typeof createDenyingSampler = (deps) =>
  createDenyingSampler({ ...deps, options: { ...deps.options, allowHosts: ALLOW_LOOPBACK } });
function track(s: Sampler): Sampler {
  cleanups.push(() => s.stop());
  return s;
}

describe('live sources', () => {
  for (const name of ['debian', 'bundled']) {
    it(`${name} ffmpeg, RTMP: whole frames at 1 fps with source pts; stop() leaves no process`, async (ctx) => {
      const ffmpeg = binaries[name];
      if (!ffmpeg) return ctx.skip();
      const src = await live({ kind: 'rtmp', streamKey: 'sk_live_TESTKEY' });
      const { logger, lines } = capturingLogger();
      const s = track(createSampler({ url: src.url, streamId: 'live-1', ffmpeg, logger, options: samplerOptions() }));
      const frames = await take(s.frames()[Symbol.asyncIterator](), 3);
      expect(frames.map((f) => f.seq)).toEqual([0, 1, 2]);
      for (const f of frames) {
        expect(f).toMatchObject({ streamId: 'live-1', width: 320, height: 240 });
        expect(f.data.length).toBe(320 * 240 * 3);
      }
      const ptsSteps = frames.slice(1).map((f, i) => f.pts - frames[i]!.pts);
      for (const step of ptsSteps) expect(step).toBeCloseTo(1, 1);
      const gaps = frames.slice(1).map((f, i) => f.capturedAt - frames[i]!.capturedAt);
      for (const gap of gaps) {
        expect(gap).toBeGreaterThan(600);
        expect(gap).toBeLessThan(1400);
      }
      const pgid = s.stats().pid!;
      expect(groupMembers(pgid).map((p) => p.comm)).toContain('ffmpeg');
      await s.stop();
      expect(groupMembers(pgid)).toEqual([]);
      expect(s.stats()).toMatchObject({ state: 'stopped', framesDropped: 0 });
      // The stream key is in the URL ffmpeg got, and in none of our log lines.
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.join('\n')).not.toContain('sk_live_TESTKEY');
      expect(lines.join('\n')).toContain('/live/***');
    });

    it(`${name} ffmpeg, HLS over http: frames flow`, async (ctx) => {
      const ffmpeg = binaries[name];
      if (!ffmpeg) return ctx.skip();
      const src = await live({ kind: 'hls' });
      const { logger } = capturingLogger();
      const s = track(
        createSampler({
          url: src.url,
          streamId: 'hls-1',
          ffmpeg,
          logger,
          options: samplerOptions({ scaleMode: 'exact', width: 128, height: 96 }),
        }),
      );
      const frames = await take(s.frames()[Symbol.asyncIterator](), 2);
      expect(frames.map((f) => [f.seq, f.width, f.height, f.data.length])).toEqual([
        [0, 128, 96, 128 * 96 * 3],
        [1, 128, 96, 128 * 96 * 3],
      ]);
      expect(frames[1]!.pts).toBeGreaterThan(frames[0]!.pts);
    });
  }

  it('SRT (Debian ffmpeg has libsrt): frames flow; the bundled build refuses srt:// up front', async (ctx) => {
    if (!binaries.debian!.protocols.has('srt')) return ctx.skip();
    const src = await live({ kind: 'srt' });
    expect(src.url).toMatch(/^srt:\/\/127\.0\.0\.1:\d+$/);
    const { logger } = capturingLogger();
    const s = track(createSampler({ url: src.url, streamId: 'srt-1', ffmpeg: binaries.debian!, logger, options: samplerOptions() }));
    const frames = await take(s.frames()[Symbol.asyncIterator](), 3);
    expect(frames.map((f) => [f.seq, f.width, f.height])).toEqual([
      [0, 320, 240],
      [1, 320, 240],
      [2, 320, 240],
    ]);
    // MPEG-TS timestamps start at 1.4 s; samples fall on whole-second slots of that timeline.
    expect(frames[0]!.pts).toBeCloseTo(1.4, 1);
    expect(frames[2]!.pts - frames[1]!.pts).toBeCloseTo(1, 1);
    if (binaries.bundled) {
      expect(() =>
        createSampler({ url: src.url, streamId: 'srt-2', ffmpeg: binaries.bundled!, logger, options: samplerOptions() }),
      ).toThrow(/without SRT support/);
    }
  });

  it('source loss: restarts with backoff, recovers, and seq continues', async () => {
    const src = await live({ kind: 'rtmp' });
    const restarts: { code: string; delayMs: number; message: string }[] = [];
    const events = createHooks<WorkerEvents>(undefined, {
      'sampler.restart': ({ error, delayMs }) => restarts.push({ code: error.code, delayMs, message: error.message }),
    });
    const { logger } = capturingLogger();
    const s = track(
      createSampler({
        url: src.url,
        streamId: 'loss',
        ffmpeg: binaries.debian!,
        logger,
        events,
        options: samplerOptions({ backoffBaseMs: 200, backoffMaxMs: 400, maxRestarts: 20 }),
      }),
    );
    const it = s.frames()[Symbol.asyncIterator]();
    const before = await take(it, 1);
    await src.outage(1_500);
    const after = await take(it, 2);
    expect(restarts.length).toBeGreaterThanOrEqual(1);
    // The cut connection ends the run (EOF or a read error); the refused reconnects are unreachable.
    expect(
      restarts.every((r) => r.code === 'source_unreachable' || r.code === 'source_stalled'),
      JSON.stringify(restarts),
    ).toBe(true);
    expect(restarts.at(-1)?.message ?? '').toMatch(/Connection refused|ended|Input\/output error/);
    expect(restarts.every((r) => r.delayMs >= 100 && r.delayMs <= 400)).toBe(true);
    expect(after.map((f) => f.seq)).toEqual([before[0]!.seq + 1, before[0]!.seq + 2]);
    expect(s.stats()).toMatchObject({ state: 'running', lastError: { code: 'source_unreachable' } });
    expect(s.stats().attempts).toBe(restarts.length + 1);
  });

  it('unreachable URL: retries with backoff, then a terminal source_failed carrying attempts and cause', async () => {
    const port = await freePort();
    const url = `rtmp://127.0.0.1:${port}/live/sk_UNREACHABLE_KEY`;
    const spawned: number[] = [];
    let failed: SourceFailedError | undefined;
    const { logger, lines } = capturingLogger();
    const s = track(
      createSampler({
        url,
        streamId: 'gone',
        ffmpeg: binaries.debian!,
        logger,
        options: samplerOptions({ maxRestarts: 2, backoffBaseMs: 20, backoffMaxMs: 40 }),
        events: createHooks<WorkerEvents>(undefined, {
          'sampler.spawn': ({ attempt }) => spawned.push(attempt),
          'sampler.failed': (e) => (failed = e),
        }),
      }),
    );
    const err = await (async () => {
      for await (const f of s.frames()) void f;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceFailedError);
    const e = err as SourceFailedError;
    expect(e).toMatchObject({ code: 'source_failed', retryable: false, attempts: 3, url: `rtmp://127.0.0.1:${port}/live/***` });
    expect(e.lastCause).toMatchObject({ code: 'source_unreachable', retryable: true });
    expect(e.message).toMatch(/after 3 attempts: source_unreachable: .*Connection refused/);
    expect(failed).toBe(e);
    expect(spawned).toEqual([1, 2, 3]);
    expect(s.stats()).toMatchObject({ state: 'failed', attempts: 3, restarts: 2 });
    await s.done;
    expect(`${e.message}\n${lines.join('\n')}`).not.toContain('sk_UNREACHABLE_KEY');
  });

  it('stall: a frozen source is detected, killed and restarted; frames resume after it thaws', async () => {
    const src = await live({ kind: 'rtmp' });
    const codes: string[] = [];
    const { logger } = capturingLogger();
    const s = track(
      createSampler({
        url: src.url,
        streamId: 'stall',
        ffmpeg: binaries.debian!,
        logger,
        events: createHooks<WorkerEvents>(undefined, { 'sampler.restart': ({ error }) => codes.push(error.code) }),
        // rw_timeout longer than the stall timeout: the sampler's own detection acts first.
        options: samplerOptions({ stallTimeoutMs: 1_500, rwTimeoutMs: 20_000, backoffBaseMs: 100, backoffMaxMs: 200, maxRestarts: 20 }),
      }),
    );
    const it = s.frames()[Symbol.asyncIterator]();
    await take(it, 1);
    const stalledPgid = s.stats().pid!;
    src.pause();
    const t0 = Date.now();
    while (!codes.includes('source_stalled')) {
      if (Date.now() - t0 > 6_000) throw new Error(`no stall detected; restarts: ${codes.join(',')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(groupMembers(stalledPgid)).toEqual([]);
    src.resume();
    const again = await take(it, 1);
    expect(again.length).toBe(1);
  });

  it('rw_timeout: ffmpeg gives up on a silent connection by itself, classified source_stalled', async () => {
    const src = await live({ kind: 'rtmp' });
    const codes: string[] = [];
    const { logger } = capturingLogger();
    const s = track(
      createSampler({
        url: src.url,
        streamId: 'rw',
        ffmpeg: binaries.debian!,
        logger,
        events: createHooks<WorkerEvents>(undefined, { 'sampler.restart': ({ error }) => codes.push(error.code) }),
        options: samplerOptions({ stallTimeoutMs: 20_000, rwTimeoutMs: 1_000, backoffBaseMs: 100, backoffMaxMs: 200, maxRestarts: 20 }),
      }),
    );
    await take(s.frames()[Symbol.asyncIterator](), 1);
    src.pause();
    const t0 = Date.now();
    while (codes.length === 0) {
      if (Date.now() - t0 > 8_000) throw new Error('ffmpeg did not time out');
      await new Promise((r) => setTimeout(r, 50));
    }
    src.resume();
    expect(codes[0], JSON.stringify(s.stats().lastError)).toBe('source_stalled');
  });

  it('a slow consumer gets the newest frames; older ones are dropped and counted, ffmpeg never blocks', async () => {
    const src = await live({ kind: 'rtmp' });
    let dropEvents = 0;
    const { logger } = capturingLogger();
    const s = track(
      createSampler({
        url: src.url,
        streamId: 'slow',
        ffmpeg: binaries.debian!,
        logger,
        events: createHooks<WorkerEvents>(undefined, { 'sampler.drop': () => dropEvents++ }),
        // Every frame decoded, so 5 fps arrive from a source with a keyframe a second.
        options: samplerOptions({ fps: 5, maxQueuedFrames: 1, decode: 'all' }),
      }),
    );
    const it = s.frames()[Symbol.asyncIterator]();
    const got: RawFrame[] = [];
    got.push(...(await take(it, 1)));
    for (let i = 0; i < 2; i++) {
      await new Promise((r) => setTimeout(r, 1_200)); // ~6 frames arrive meanwhile
      got.push(...(await take(it, 1)));
    }
    const dropped = s.stats().framesDropped;
    expect(dropped).toBeGreaterThanOrEqual(6);
    expect(dropEvents).toBe(dropped);
    // Each frame after a pause is recent: its seq jumped past the dropped ones.
    expect(got[1]!.seq - got[0]!.seq).toBeGreaterThanOrEqual(4);
    expect(Date.now() - got[2]!.capturedAt).toBeLessThan(1_000);
    expect(s.stats().framesEmitted).toBe(got[2]!.seq + 1);
  });

  it('leaving the for-await loop stops the sampler', async () => {
    const src = await live({ kind: 'rtmp' });
    const { logger } = capturingLogger();
    const s = track(createSampler({ url: src.url, streamId: 'brk', ffmpeg: binaries.debian!, logger, options: samplerOptions() }));
    let pgid = 0;
    for await (const f of s.frames()) {
      expect(f.seq).toBe(0);
      pgid = s.stats().pid!;
      break;
    }
    await s.done;
    expect(s.stats().state).toBe('stopped');
    expect(groupMembers(pgid)).toEqual([]);
  });

  it('aborting the signal it was given stops it', async () => {
    const src = await live({ kind: 'rtmp' });
    const { logger } = capturingLogger();
    const ac = new AbortController();
    const s = track(
      createSampler({ url: src.url, streamId: 'abort', ffmpeg: binaries.debian!, logger, signal: ac.signal, options: samplerOptions() }),
    );
    const it = s.frames()[Symbol.asyncIterator]();
    await take(it, 1);
    const pgid = s.stats().pid!;
    ac.abort();
    expect(await it.next()).toEqual({ value: undefined, done: true });
    await s.done;
    expect(s.stats().state).toBe('stopped');
    expect(groupMembers(pgid)).toEqual([]);
  });

  it('stop() while ffmpeg is still connecting returns promptly and kills it', async () => {
    const src = await live({ kind: 'rtmp' });
    src.pause(); // accepts the TCP connection (kernel backlog) but never answers the handshake
    const { logger } = capturingLogger();
    const s = track(
      createSampler({ url: src.url, streamId: 'early', ffmpeg: binaries.debian!, logger, options: samplerOptions({ stopGraceMs: 300 }) }),
    );
    await new Promise((r) => setTimeout(r, 400));
    const pgid = s.stats().pid!;
    expect(groupMembers(pgid).length).toBeGreaterThan(0);
    const t0 = Date.now();
    await s.stop();
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(groupMembers(pgid)).toEqual([]);
    src.resume();
  });
});
