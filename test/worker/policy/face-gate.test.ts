import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PolicyOptions } from '../../../src/config/index.js';
import type { HashMatch } from '../../../src/contracts/index.js';
import type { FrameSignals } from '../../../src/domain/signals.js';
import { decide, faceGate, type FrameAnalysis, type PolicyState } from '../../../src/worker/policy/index.js';

// The cascade runs the face/age model only where faceGate says so. These properties hold it to
// "no decision changes": whatever the policy, the state of its cooldowns and the signals, a frame
// decided with its faces and the same frame decided with faces only where the gate asked for them
// give the same decisions and the same next state.

const score = fc.double({ min: 0, max: 1, noNaN: true });
const options: fc.Arbitrary<PolicyOptions> = fc.record({
  mode: fc.constantFrom('enforce' as const, 'shadow' as const),
  killSwitchCooldownMs: fc.integer({ min: 0, max: 120_000 }),
  escalationCooldownMs: fc.integer({ min: 0, max: 120_000 }),
  nudityEscalateAt: score,
  nudityWithMinorEscalateAt: score,
  challengeAge: fc.integer({ min: 1, max: 100 }),
  customEscalateAt: fc.dictionary(fc.constantFrom('vendor_csam', 'vendor_grooming', 'other'), score, { maxKeys: 2 }),
});

const match: fc.Arbitrary<HashMatch> = fc.record({
  list: fc.constantFrom('confirmed', 'suspected'),
  distance: fc.integer({ min: 0, max: 31 }),
  hash: fc.constant('a'.repeat(64)),
  action: fc.constantFrom('kill' as const, 'escalate' as const),
});

/** Nudity probabilities as the model gives them (they need not sum to 1 for the policy). */
const nudity = fc.option(
  fc.record({ drawing: score, hentai: fc.double({ min: 0, max: 0.6, noNaN: true }), neutral: score, porn: score, sexy: score }),
  { nil: undefined },
);
const faces = fc.array(
  fc.record({
    box: fc.constant([0, 0, 10, 10] as const),
    score,
    // NaN: an age the model could not read (counts as a possible minor).
    age: fc.oneof(fc.double({ min: 1, max: 90, noNaN: true }), fc.constant(Number.NaN)),
  }),
  { maxLength: 3 },
);
const custom = fc.option(fc.dictionary(fc.constantFrom('vendor_csam', 'vendor_grooming', 'other'), score, { maxKeys: 3 }), {
  nil: undefined,
});

const state: fc.Arbitrary<PolicyState> = fc.record({
  lastKillSwitchAt: fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: undefined }),
  lastEscalationAt: fc.record(
    {
      normal: fc.integer({ min: 0, max: 200_000 }),
      high: fc.integer({ min: 0, max: 200_000 }),
      critical: fc.integer({ min: 0, max: 200_000 }),
    },
    { requiredKeys: [] },
  ),
});

const frameOf = (signals: FrameSignals, matches: HashMatch[]): FrameAnalysis => ({ capturedAt: 0, seq: 1, matches, signals });

/** What the classifier hands on under the cascade: no `faces` where the gate skipped them. */
function gated(signals: FrameSignals, gate: (s: FrameSignals) => boolean): FrameSignals {
  if (gate(signals)) return signals;
  const { faces: _skipped, ...rest } = signals;
  return rest;
}

describe('face/age cascade (policy/face-gate.ts)', () => {
  it('changes no decision and no state at any floor up to nudityWithMinorEscalateAt', () => {
    fc.assert(
      fc.property(
        options,
        fc.double({ min: 0, max: 1, noNaN: true }),
        state,
        nudity,
        faces,
        custom,
        fc.array(match, { maxLength: 2 }),
        fc.integer({ min: 0, max: 300_000 }),
        (o, share, s, n, f, c, matches, now) => {
          const floor = share * o.nudityWithMinorEscalateAt;
          const signals: FrameSignals = { ...(n ? { nudity: n } : {}), faces: f, ...(c ? { custom: c } : {}) };
          const withFaces = decide(s, frameOf(signals, matches), o, now);
          const cascaded = decide(s, frameOf(gated(signals, faceGate(o, floor)), matches), o, now);
          expect(cascaded).toEqual(withFaces);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('would change decisions with a floor above nudityWithMinorEscalateAt (why config refuses one)', () => {
    const o: PolicyOptions = {
      mode: 'enforce',
      killSwitchCooldownMs: 60_000,
      escalationCooldownMs: 30_000,
      nudityEscalateAt: 0.9,
      nudityWithMinorEscalateAt: 0.5,
      challengeAge: 25,
      customEscalateAt: {},
    };
    const signals: FrameSignals = { nudity: { porn: 0.6, neutral: 0.4 }, faces: [{ box: [0, 0, 10, 10], score: 0.9, age: 15 }] };
    const frame = frameOf(signals, []);
    expect(decide({ lastEscalationAt: {} }, frame, o, 0).decisions).toHaveLength(1);
    const skipped = frameOf(gated(signals, faceGate(o, 0.7)), []);
    expect(decide({ lastEscalationAt: {} }, skipped, o, 0).decisions).toEqual([]);
  });

  it('skips faces on benign frames and runs them where apparent age can matter', () => {
    const o: PolicyOptions = {
      mode: 'enforce',
      killSwitchCooldownMs: 60_000,
      escalationCooldownMs: 30_000,
      nudityEscalateAt: 0.9,
      nudityWithMinorEscalateAt: 0.5,
      challengeAge: 25,
      customEscalateAt: { vendor_csam: 0.7 },
    };
    const gate = faceGate(o, 0.5);
    expect(gate({ nudity: { neutral: 0.97, porn: 0.02, hentai: 0.01 } })).toBe(false);
    expect(gate({})).toBe(false);
    expect(gate({ nudity: { porn: 0.3, hentai: 0.2 } })).toBe(true);
    expect(gate({ nudity: { neutral: 1 }, custom: { vendor_csam: 0.69 } })).toBe(false);
    expect(gate({ nudity: { neutral: 1 }, custom: { vendor_csam: 0.7 } })).toBe(true);
    // Floor 0: every frame gets faces.
    expect(faceGate(o, 0)({})).toBe(true);
  });
});
