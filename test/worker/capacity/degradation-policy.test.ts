/**
 * The degradation policy's rules as properties over arbitrary sequences of load measures: one
 * step at a time, up only after overload persisted enterAfterMs since the last change, down only
 * after headroom persisted leaveAfterMs, never past maxLevel, never on steady load.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/index.js';
import {
  nextDegradation,
  NOT_DEGRADED,
  pressureOf,
  type DegradationState,
  type Pressure,
} from '../../../src/worker/capacity/degradation-policy.js';

const defaults = resolveConfig().stages.capacity.degrade;
const share = fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined });
const signals = fc.record({ cpu: share, elu: share, breaches: share });
const options = fc.record({
  maxLevel: fc.integer({ min: 0, max: 3 }),
  enterAfterMs: fc.integer({ min: 1, max: 30_000 }),
  leaveAfterMs: fc.integer({ min: 1, max: 120_000 }),
});
/** Samples: gaps between them and the measures seen. */
const run = fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: 10_000 }), signals }), { maxLength: 200 });

interface Step {
  readonly at: number;
  readonly pressure: Pressure;
  readonly before: DegradationState;
  readonly after: DegradationState;
}

function simulate(samples: { gapMs: number; signals: Parameters<typeof pressureOf>[0] }[], o: typeof defaults): Step[] {
  let state = NOT_DEGRADED;
  let at = 0;
  return samples.map(({ gapMs, signals: s }) => {
    at += gapMs;
    const pressure = pressureOf(s, o);
    const before = state;
    state = nextDegradation(state, pressure, at, o);
    return { at, pressure, before, after: state };
  });
}

describe('degradation policy (properties)', () => {
  it('moves one level at a time, within 0..maxLevel, and never on steady load', () => {
    fc.assert(
      fc.property(run, options, (samples, extra) => {
        const o = { ...defaults, ...extra };
        for (const s of simulate(samples, o)) {
          expect(s.after.level).toBeGreaterThanOrEqual(0);
          expect(s.after.level).toBeLessThanOrEqual(o.maxLevel);
          expect(Math.abs(s.after.level - s.before.level)).toBeLessThanOrEqual(1);
          if (s.pressure === 'steady') expect(s.after.level).toBe(s.before.level);
          if (s.after.level > s.before.level) expect(s.pressure).toBe('overload');
          if (s.after.level < s.before.level) expect(s.pressure).toBe('headroom');
        }
      }),
    );
  });

  it('steps up only after enterAfterMs of unbroken overload, down only after leaveAfterMs of unbroken headroom', () => {
    fc.assert(
      fc.property(run, options, (samples, extra) => {
        const o = { ...defaults, ...extra };
        const steps = simulate(samples, o);
        steps.forEach((s, i) => {
          if (s.after.level === s.before.level) return;
          const want: Pressure = s.after.level > s.before.level ? 'overload' : 'headroom';
          const need = want === 'overload' ? o.enterAfterMs : o.leaveAfterMs;
          // Walk back over the unbroken run of this pressure with no change of level in it.
          let j = i - 1;
          while (j >= 0 && steps[j]!.pressure === want && steps[j]!.after.level === steps[j]!.before.level) j--;
          const runStart = steps[j + 1]!.at;
          const startedAfterChange = j >= 0 && steps[j]!.pressure === want;
          expect(s.at - (startedAfterChange ? steps[j]!.at : runStart)).toBeGreaterThanOrEqual(need);
        });
      }),
    );
  });

  it('reaches maxLevel under lasting overload and returns to 0 under lasting headroom', () => {
    fc.assert(
      fc.property(options, fc.integer({ min: 100, max: 5_000 }), (extra, tick) => {
        const o = { ...defaults, ...extra };
        let state = NOT_DEGRADED;
        let at = 0;
        for (; at <= (o.maxLevel + 1) * (o.enterAfterMs + tick); at += tick) state = nextDegradation(state, 'overload', at, o);
        expect(state.level).toBe(o.maxLevel);
        const until = at + (o.maxLevel + 1) * (o.leaveAfterMs + tick);
        for (; at <= until; at += tick) state = nextDegradation(state, 'headroom', at, o);
        expect(state.level).toBe(0);
      }),
    );
  });

  it('reads overload and headroom from the measures', () => {
    expect(pressureOf({ cpu: 0.95, elu: 0.1, breaches: undefined }, defaults)).toBe('overload');
    expect(pressureOf({ cpu: 0.5, elu: 0.95, breaches: 0 }, defaults)).toBe('overload');
    expect(pressureOf({ cpu: 0.5, elu: 0.3, breaches: 0.06 }, defaults)).toBe('overload');
    expect(pressureOf({ cpu: 0.5, elu: 0.3, breaches: undefined }, defaults)).toBe('headroom');
    expect(pressureOf({ cpu: 0.8, elu: 0.3, breaches: 0 }, defaults)).toBe('steady');
    expect(pressureOf({ cpu: undefined, elu: 0.3, breaches: 0 }, defaults)).toBe('steady');
  });

  it('drops to a lowered maxLevel at once', () => {
    expect(nextDegradation({ level: 3 }, 'overload', 0, { ...defaults, maxLevel: 1 })).toEqual({ level: 1 });
  });
});
