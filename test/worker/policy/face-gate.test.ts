import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PolicyOptions } from '../../../src/config/index.js';
import type { HashMatch } from '../../../src/contracts/index.js';
import type { FrameSignals } from '../../../src/domain/signals.js';
import { decide, faceGate, INITIAL_POLICY_STATE, type FrameAnalysis, type PolicyState } from '../../../src/worker/policy/index.js';
import { policyOptions } from '../../support/stage-options.js';

// The cascade runs the face/age model only where faceGate says so. These properties hold it to
// "no decision changes": whatever the policy, its smoothing, the state of its cooldowns and
// smoothing windows and the signals, a frame
// decided with its faces and the same frame decided with faces only where the gate asked for them
// give the same decisions and the same next state.

const score = fc.double({ min: 0, max: 1, noNaN: true });
const options: fc.Arbitrary<PolicyOptions> = fc
  .record({
    mode: fc.constantFrom('enforce' as const, 'shadow' as const),
    killSwitchCooldownMs: fc.integer({ min: 0, max: 120_000 }),
    caseUpdateIntervalMs: fc.integer({ min: 0, max: 120_000 }),
    nudityEscalateAt: score,
    nudityWithMinorEscalateAt: score,
    challengeAge: fc.integer({ min: 1, max: 100 }),
    customEscalateAt: fc.dictionary(fc.constantFrom('vendor_csam', 'vendor_grooming', 'other'), score, { maxKeys: 2 }),
    n: fc.integer({ min: 1, max: 6 }),
    k: fc.integer({ min: 1, max: 6 }),
  })
  .map(({ k, n, ...o }) => policyOptions({ ...o, smoothing: { k: Math.min(k, n), n } }));

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

/** A kill-switch cooldown and the smoothing windows of earlier frames (levels 0 none .. 3 critical). */
const window = fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 6 });
const state: fc.Arbitrary<PolicyState> = fc
  .record({
    lastKillSwitchAt: fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: undefined }),
    windows: fc.record(
      { 'classifier:explicit': window, 'classifier:vendor_csam': window, 'classifier:other': window },
      { requiredKeys: [] },
    ),
  })
  .map(({ lastKillSwitchAt, windows }) => ({
    ...INITIAL_POLICY_STATE,
    ...(lastKillSwitchAt === undefined ? {} : { lastKillSwitchAt }),
    windows,
  }));

const ctx = { streamId: 's1', runId: 'r1', workerId: 'w1', metadata: {} };
const frameOf = (signals: FrameSignals, matches: HashMatch[]): FrameAnalysis => ({
  capturedAt: 0,
  seq: 1,
  matches,
  signals,
  ref: () => ({ seq: 1, pts: 1, capturedAt: new Date(0).toISOString() }),
});

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
          const withFaces = decide(s, frameOf(signals, matches), ctx, o, now);
          const cascaded = decide(s, frameOf(gated(signals, faceGate(o, floor)), matches), ctx, o, now);
          expect(cascaded).toEqual(withFaces);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('would change decisions with a floor above nudityWithMinorEscalateAt (why config refuses one)', () => {
    const o = policyOptions({ smoothing: { k: 1, n: 1 } });
    const signals: FrameSignals = { nudity: { porn: 0.6, neutral: 0.4 }, faces: [{ box: [0, 0, 10, 10], score: 0.9, age: 15 }] };
    const frame = frameOf(signals, []);
    expect(decide(INITIAL_POLICY_STATE, frame, ctx, o, 0).effects).toHaveLength(1);
    const skipped = frameOf(gated(signals, faceGate(o, 0.7)), []);
    expect(decide(INITIAL_POLICY_STATE, skipped, ctx, o, 0).effects).toEqual([]);
  });

  it('skips faces on benign frames and runs them where apparent age can matter', () => {
    const o = policyOptions({ customEscalateAt: { vendor_csam: 0.7 } });
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
