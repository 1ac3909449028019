import { describe, expect, it } from 'vitest';
import type { VideoFrameHit, VideoRule } from '../../../src/domain/ports.js';
import { longestRun, VideoWindow } from '../../../src/worker/pipeline/video-window.js';

const rule: VideoRule = { windowMs: 60_000, matchShare: 0.8, queryShare: 0, minMatchedSeconds: 30 };

/** A hit on frame `at` (seconds) of a 20-frame known video sampled at 1 fps. */
const hit = (at: number, over: Partial<VideoFrameHit> = {}): VideoFrameHit => ({
  list: 'known',
  action: 'kill',
  video: 'v1',
  videoFrames: 20,
  step: 1,
  hash: at.toString(16).padStart(64, '0'),
  at,
  distance: 10 + (at % 5),
  rule,
  ...over,
});

describe('video window', () => {
  it('matches once the share of the video seen in the window reaches matchShare', () => {
    const w = new VideoWindow();
    // The stream shows the video's frames 0..15, one a second: 16/20 = 80 % at the 16th.
    for (let s = 0; s < 15; s++) expect(w.observe(s * 1_000, [hit(s)])).toEqual([]);
    const [m] = w.observe(15_000, [hit(15)]);
    expect(m).toEqual({
      list: 'known',
      distance: 10,
      hash: '0'.repeat(64),
      action: 'kill',
      video: { id: 'v1', share: 0.8, queryShare: 1, matchedFrames: 16, videoFrames: 20, segment: { start: 0, end: 15 }, rule: 'share' },
    });
  });

  it('counts distinct video frames: the same frame matched again adds nothing', () => {
    const w = new VideoWindow();
    for (let s = 0; s < 40; s++) expect(w.observe(s * 1_000, [hit(3)])).toEqual([]);
  });

  it('an excerpt matches on a run of minMatchedSeconds, across a few missed frames', () => {
    const w = new VideoWindow();
    const r = { ...rule, minMatchedSeconds: 8 };
    const out = [];
    // Video seconds 5..14 on the stream, frames 8 and 9 missed (too far, or shed).
    for (let s = 5; s <= 14; s++) out.push(w.observe(s * 1_000, s === 8 || s === 9 ? [] : [hit(s, { rule: r })]));
    expect(out.slice(0, 8).flat()).toEqual([]);
    const [m] = out[8]!;
    expect(m?.video).toMatchObject({ rule: 'run', segment: { start: 5, end: 13 }, matchedFrames: 7, share: 0.35 });
    // The other frames of the stream are in the query share's denominator.
    expect(m?.video?.queryShare).toBeCloseTo(7 / 9, 3);
  });

  it('a gap wider than a few frame intervals breaks the run', () => {
    expect(longestRun([1, 2, 3, 10, 11, 12, 13, 14], 3)).toEqual({ start: 10, end: 14 });
    expect(longestRun([1, 2, 3, 6, 7], 3)).toEqual({ start: 1, end: 7 });
    expect(longestRun([], 3)).toEqual({ start: 0, end: 0 });
  });

  it('applies queryShare: a stream mostly showing other things is not a match by share', () => {
    const w = new VideoWindow();
    const r = { ...rule, matchShare: 0.5, queryShare: 0.5 };
    // 10 frames of the video among 30 of other content: share 0.5 reached, query share 1/3.
    let fired = 0;
    for (let s = 0; s < 30; s++) fired += w.observe(s * 1_000, s % 3 === 0 ? [hit(s / 3, { rule: r })] : []).length;
    expect(fired).toBe(0);
  });

  it('forgets what left the window', () => {
    const w = new VideoWindow();
    const r = { ...rule, windowMs: 10_000 };
    // 16 frames, but spread so no 10 s window holds more than 10 of them.
    let fired = 0;
    for (let s = 0; s < 16; s++) fired += w.observe(s * 2_000, [hit(s, { rule: r })]).length;
    expect(fired).toBe(0);
  });

  it('tracks videos of different lists apart', () => {
    const w = new VideoWindow();
    const out = [];
    for (let s = 0; s < 16; s++)
      out.push(...w.observe(s * 1_000, [hit(s), hit(s, { list: 'review', action: 'escalate', videoFrames: 40 })]));
    expect(out.map((m) => [m.list, m.action])).toEqual([['known', 'kill']]);
  });
});
