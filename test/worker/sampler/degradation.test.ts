/**
 * Graceful degradation carried out by a sampler on real ffmpeg: level 1 forces an `auto` stream
 * that fell back to full decoding back onto keyframes (and keeps it there although they are
 * sparse), level 2 halves the frames passed on. The pressure here is a plain switchable value
 * with the shape the capacity governor's view has (the governor's own steps are tested apart).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Listeners } from '../../../src/domain/hooks.js';
import type { WorkerEvents } from '../../../src/worker/events.js';
import { probeFfmpeg, type FfmpegBinary } from '../../../src/worker/sampler/ffmpeg-binary.js';
import type { Sampler, SamplingPressure } from '../../../src/worker/sampler/index.js';
import type { ConfigInput } from '../../../src/config/index.js';
import { startLiveSource } from '../../support/live-source.js';
import { DEBIAN_FFMPEG, makeClip, waitUntil, loopbackSampler, allFrames, framesCapturedAfter } from './helpers.js';
import {
  initialDecodeState,
  nextTickInMs,
  onKeyframe,
  onOptionsChanged,
  onTick,
  type DecodeModeOptions,
} from '../../../src/worker/sampler/decode-mode.js';

class Pressure implements SamplingPressure {
  keyframesOnly = false;
  halfRate = false;
  readonly #listeners = new Set<() => void>();
  set(level: number): void {
    this.keyframesOnly = level >= 1;
    this.halfRate = level >= 2;
    for (const l of this.#listeners) l();
  }
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  get listeners(): number {
    return this.#listeners.size;
  }
}

let dir: string;
let ffmpeg: FfmpegBinary;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'streamscreen-degrade-'));
  ffmpeg = await probeFfmpeg(DEBIAN_FFMPEG, 'path');
});
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sampler(url: string, options: ConfigInput['sampler'], pressure: Pressure, events: Listeners<WorkerEvents> = {}): Sampler {
  const s = loopbackSampler({ url, streamId: 'dg', ffmpeg, options, events, pressure });
  cleanups.push(() => s.stop());
  return s;
}

describe('graceful degradation in the sampler (real ffmpeg)', () => {
  it('level 1: an auto stream decoding in full goes back to keyframes at once and stays there, though they are sparse', async () => {
    const src = await startLiveSource({ kind: 'rtmp', fps: 15, gopSeconds: 3 });
    cleanups.push(() => src.stop());
    const pressure = new Pressure();
    const modes: WorkerEvents['sampler.decodeMode'][] = [];
    const s = sampler(src.url, { decode: 'auto', maxKeyframeIntervalMs: 2000 }, pressure, { 'sampler.decodeMode': (e) => modes.push(e) });
    const it = s.frames()[Symbol.asyncIterator]();
    // The full-decoding run has started once its mode is reported.
    await waitUntil('the fall back to full decoding', () => modes.length >= 2, 15_000);
    expect(modes[1]).toMatchObject({ mode: 'all', previous: 'keyframes' });

    pressure.set(1);
    await waitUntil('the forced switch to keyframes', () => modes.length >= 3, 10_000);
    expect(modes[2]).toEqual({ streamId: 'dg', mode: 'keyframes', previous: 'all', reason: 'degraded' });
    // From the keyframes-only run: one frame per keyframe, 3 s apart, and no fall back to full decoding.
    const frames = await framesCapturedAfter(it, Date.now(), 3);
    for (let i = 1; i < frames.length; i++) expect(frames[i]!.pts - frames[i - 1]!.pts).toBeCloseTo(3, 0);
    expect(s.stats().decodeMode).toBe('keyframes');
    expect(modes).toHaveLength(3);
    await s.stop();
    expect(pressure.listeners).toBe(0);
  }, 60_000);

  it('level 2: half the sampled frames are passed on, each one left out counted', async () => {
    const clip = join(dir, 'clip.mp4');
    await makeClip(clip, { size: '320x240', rate: 15, seconds: 4 });
    const file = { allowFiles: true, fileRealtime: false, decode: 'all', fps: 4 } as const;
    const normal = await allFrames(sampler(clip, file, new Pressure()));
    const halved = new Pressure();
    halved.set(2);
    let thinned = 0;
    const half = await allFrames(sampler(clip, file, halved, { 'sampler.thinned': () => thinned++ }));
    expect(normal.length).toBeGreaterThanOrEqual(15);
    expect(half.length).toBe(Math.ceil(normal.length / 2));
    expect(thinned).toBe(Math.floor(normal.length / 2));
    // Every other frame of the same timeline: twice the interval.
    expect(half.map((f) => f.pts)).toEqual(normal.filter((_, i) => i % 2 === 0).map((f) => f.pts));
  }, 30_000);
});

describe('decode-mode rules under forced keyframes (pure)', () => {
  const auto: DecodeModeOptions = { setting: 'auto', maxKeyframeIntervalMs: 2000 };
  const forced: DecodeModeOptions = { ...auto, forceKeyframes: true };

  it('keeps keyframes however sparse, with no timeout, and turns a full decode back at once', () => {
    let state = initialDecodeState(forced, 0);
    state = onKeyframe(state, 0, 0, forced).state;
    const sparse = onKeyframe(state, 10, 10_000, forced);
    expect(sparse.kind).toBe('stay');
    expect(sparse.state.mode).toBe('keyframes');
    expect(onTick(sparse.state, 60_000, forced).kind).toBe('stay');
    expect(nextTickInMs(sparse.state, 10_000, forced)).toBeUndefined();
    // Unforced, the same interval falls back.
    expect(onKeyframe(state, 10, 10_000, auto)).toMatchObject({ kind: 'switch', reason: 'sparse_keyframes' });

    const full = { ...state, mode: 'all' as const };
    expect(onOptionsChanged(full, 1, forced)).toMatchObject({ kind: 'switch', reason: 'degraded', state: { mode: 'keyframes' } });
    expect(onKeyframe(full, 12, 12_000, forced)).toMatchObject({ kind: 'switch', reason: 'degraded' });
    expect(onOptionsChanged(full, 1, auto).kind).toBe('stay');
    // A stream configured to decode every frame is left alone.
    expect(onOptionsChanged(full, 1, { ...forced, setting: 'all' }).kind).toBe('stay');
  });
});
