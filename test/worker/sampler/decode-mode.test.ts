import { describe, expect, it } from 'vitest';
import {
  FULL_DECODE_HOLD_MS,
  initialDecodeState,
  keyframeIntervalMs,
  nextTickInMs,
  onKeyframe,
  onTick,
  type DecodeModeOptions,
  type DecodeModeState,
  type DecodeStep,
} from '../../../src/worker/sampler/decode-mode.js';

const auto: DecodeModeOptions = { setting: 'auto', maxKeyframeIntervalMs: 2000 };

/** Feeds keyframes `gapSec` apart (stream time = wall time) from `t0`; returns the steps. */
function keyframes(state: DecodeModeState, o: DecodeModeOptions, t0: number, gapSec: number, count: number): DecodeStep[] {
  const steps: DecodeStep[] = [];
  let s = state;
  for (let i = 0; i < count; i++) {
    const t = t0 + i * gapSec * 1000;
    const step = onKeyframe(s, t / 1000, t, o);
    steps.push(step);
    s = step.state;
  }
  return steps;
}

describe('decode mode (keyframes / all / auto)', () => {
  it('fixed settings never switch, whatever the keyframes do, but still measure the interval', () => {
    for (const setting of ['keyframes', 'all'] as const) {
      const o = { setting, maxKeyframeIntervalMs: 2000 };
      const start = initialDecodeState(o, 0);
      expect(start.mode).toBe(setting);
      const steps = keyframes(start, o, 0, 10, 4);
      expect(steps.every((s) => s.kind === 'stay' && s.state.mode === setting)).toBe(true);
      expect(keyframeIntervalMs(steps.at(-1)!.state)).toBe(10_000);
      expect(onTick(steps.at(-1)!.state, 1e9, o).kind).toBe('stay');
    }
  });

  it('auto starts on keyframes and stays there while they are at most maxKeyframeIntervalMs apart (5 % slack)', () => {
    const start = initialDecodeState(auto, 0);
    expect(start.mode).toBe('keyframes');
    // 2.033 s: a "2 s" GOP at 30 fps that is one frame long.
    for (const gap of [0.5, 1, 2, 2.033]) {
      const steps = keyframes(start, auto, 0, gap, 6);
      expect(
        steps.every((s) => s.kind === 'stay' && s.state.mode === 'keyframes'),
        `gap ${gap}`,
      ).toBe(true);
    }
  });

  it('falls back to full decoding at the first interval that is too long', () => {
    const steps = keyframes(initialDecodeState(auto, 0), auto, 0, 4, 3);
    expect(steps[0]!.kind).toBe('stay');
    expect(steps[1]).toMatchObject({ kind: 'switch', reason: 'sparse_keyframes', state: { mode: 'all', since: 4000, fallbacks: 1 } });
  });

  it('falls back when keyframes stop coming for 1.5 intervals, before the next one shows the gap', () => {
    const first = onKeyframe(initialDecodeState(auto, 0), 0, 1000, auto).state;
    expect(nextTickInMs(first, 1000, auto)).toBe(3001);
    expect(onTick(first, 3900, auto).kind).toBe('stay');
    expect(onTick(first, 4001, auto)).toMatchObject({ kind: 'switch', reason: 'no_keyframe', state: { mode: 'all' } });
    // No timer before the first keyframe (a connecting stream is not sparse) or in full decoding.
    expect(nextTickInMs(initialDecodeState(auto, 0), 0, auto)).toBeUndefined();
    expect(onTick(initialDecodeState(auto, 0), 1e9, auto).kind).toBe('stay');
  });

  it('returns to keyframes after three short intervals, only once it has held full decoding long enough', () => {
    const fellBack = keyframes(initialDecodeState(auto, 0), auto, 0, 5, 2).at(-1)!;
    expect(fellBack.kind).toBe('switch');
    const since = fellBack.state.since;
    // The stream's GOP shrinks to 1 s at once; keyframes come, but the hold is not over.
    const early = keyframes(fellBack.state, auto, since + 1000, 1, 5);
    expect(early.every((s) => s.kind === 'stay' && s.state.mode === 'all')).toBe(true);
    // After the hold, the next keyframe switches back (its last three intervals are short).
    const late = onKeyframe(early.at(-1)!.state, (since + FULL_DECODE_HOLD_MS + 1000) / 1000, since + FULL_DECODE_HOLD_MS + 1000, auto);
    expect(late.kind).toBe('stay'); // the gap to the previous keyframe is long: not dense
    // It takes three short intervals in a row after it.
    const back = keyframes(late.state, auto, since + FULL_DECODE_HOLD_MS + 2000, 1, 3);
    expect(back.map((s) => s.kind)).toEqual(['stay', 'stay', 'switch']);
    expect(back[2]).toMatchObject({ reason: 'dense_keyframes', state: { mode: 'keyframes' } });
  });

  it('holds full decoding twice as long after every further fallback (no flapping)', () => {
    let s = initialDecodeState(auto, 0);
    let t = 0;
    const holds: number[] = [];
    for (let round = 0; round < 3; round++) {
      // Too sparse: fall back.
      const down = keyframes(s, auto, t, 4, 2).at(-1)!;
      expect(down.kind).toBe('switch');
      s = down.state;
      t = s.since;
      // Dense from here on; find when it returns to keyframes.
      let back: DecodeStep | undefined;
      for (let i = 1; !back || back.kind !== 'switch'; i++) {
        back = onKeyframe(s, (t + i * 1000) / 1000, t + i * 1000, auto);
        s = back.state;
      }
      holds.push(s.since - t);
      t = s.since;
    }
    expect(holds[0]).toBeGreaterThanOrEqual(FULL_DECODE_HOLD_MS);
    expect(holds[0]).toBeLessThan(FULL_DECODE_HOLD_MS + 2000);
    expect(holds[1]).toBeGreaterThanOrEqual(2 * FULL_DECODE_HOLD_MS);
    expect(holds[2]).toBeGreaterThanOrEqual(4 * FULL_DECODE_HOLD_MS);
  });

  it('ignores keyframes without a timestamp or going backwards (a new connection) when measuring', () => {
    let s = onKeyframe(initialDecodeState(auto, 0), 100, 0, auto).state;
    s = onKeyframe(s, undefined, 500, auto).state;
    s = onKeyframe(s, 3, 1000, auto).state;
    expect(s.intervalsMs).toEqual([]);
    expect(onKeyframe(s, 5, 3000, auto).state.intervalsMs).toEqual([2000]);
  });
});
