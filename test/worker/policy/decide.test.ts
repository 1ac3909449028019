import { describe, expect, it } from 'vitest';
import { CaseOpenedSchema } from '../../../src/contracts/index.js';
import { decide, INITIAL_POLICY_STATE, type PolicyState } from '../../../src/worker/policy/index.js';
import {
  caseEffects,
  clean,
  ctx,
  escalateMatch,
  explicit,
  frame,
  killMatch,
  kills,
  nearerKill,
  options,
  types,
  unsmoothed,
} from './support.js';

/** Runs frames through decide() one per second, collecting every effect. */
function run(signals: Parameters<typeof frame>[1][], opts = options, start: PolicyState = INITIAL_POLICY_STATE) {
  let state = start;
  const all = [];
  for (const [i, over] of signals.entries()) {
    const r = decide(state, frame(i, over), ctx, opts, i * 1000);
    state = r.state;
    all.push(...r.effects);
  }
  return { state, effects: all };
}

describe('decide: hash matches', () => {
  it('does nothing for a clean frame and returns the same state', () => {
    const r = decide(INITIAL_POLICY_STATE, frame(1), ctx, options, 0);
    expect(r.effects).toEqual([]);
    expect(r.state).toBe(INITIAL_POLICY_STATE);
  });

  it('kills on a kill-list match (the closest), first, and opens a critical hash_match case that carries the kill-switch', () => {
    const r = decide(INITIAL_POLICY_STATE, frame(7, { matches: [killMatch, nearerKill] }), ctx, options, 1000);
    expect(types(r.effects)).toEqual(['killswitch', 'case_opened']);
    const [kill] = kills(r.effects);
    const [opened] = caseEffects(r.effects);
    expect(kill).toMatchObject({ reason: 'hash_match', rule: 'kill_list_match', match: nearerKill, shadow: false, frame: { seq: 7 } });
    expect(kill!.eventId).toMatch(/^ks-[0-9a-f]{32}$/);
    expect(opened!.record).toMatchObject({
      reasonClass: 'hash_match',
      priority: 'critical',
      state: 'open',
      revision: 1,
      policy: { version: options.version, rule: 'kill_list_match' },
      killSwitch: { eventId: kill!.eventId, reason: 'hash_match' },
      pdqHash: 'd'.repeat(64),
      metadata: { channel: 'c-9' },
    });
    expect(kill!.caseId).toBe(opened!.record.caseId);
    expect(opened!.page).toBe(true);
    expect(opened!.evidence).toEqual({ preserveOriginal: true });
    expect(r.state.lastKillSwitchAt).toBe(1000);
  });

  it('treats a match without an action as a kill-list match', () => {
    const { action: _a, ...bare } = killMatch;
    expect(types(decide(INITIAL_POLICY_STATE, frame(1, { matches: [bare] }), ctx, options, 0).effects)).toEqual([
      'killswitch',
      'case_opened',
    ]);
  });

  it('opens a high hash_match case (never a kill) on an escalate-list match, unsmoothed: one frame is enough', () => {
    const r = decide(INITIAL_POLICY_STATE, frame(1, { matches: [escalateMatch] }), ctx, options, 0);
    expect(types(r.effects)).toEqual(['case_opened']);
    expect(caseEffects(r.effects)[0]!.record).toMatchObject({
      priority: 'high',
      reasons: [{ kind: 'hash_match', match: escalateMatch }],
      policy: { rule: 'escalate_list_match' },
    });
  });

  it('raises the open hash_match case to critical when a kill-list match follows, instead of opening another', () => {
    const first = decide(INITIAL_POLICY_STATE, frame(1, { matches: [escalateMatch] }), ctx, options, 0);
    const r = decide(first.state, frame(2, { matches: [killMatch] }), ctx, options, 1000);
    expect(types(r.effects)).toEqual(['killswitch', 'case_updated']);
    const up = caseEffects(r.effects)[0]!;
    expect(up.change).toEqual(['priority_raised', 'kill_switch']);
    expect(up.page).toBe(true);
    expect(up.record).toMatchObject({ caseId: caseEffects(first.effects)[0]!.record.caseId, revision: 2, priority: 'critical' });
    expect(up.record.reasons.map((x) => x.kind === 'hash_match' && x.match.list)).toEqual(['suspected', 'confirmed']);
  });

  it('fires one kill-switch per cooldown, adding nothing for repeats inside it', () => {
    const first = decide(INITIAL_POLICY_STATE, frame(1, { matches: [killMatch] }), ctx, options, 0);
    expect(decide(first.state, frame(2, { matches: [killMatch] }), ctx, options, 59_999).effects).toEqual([]);
    const later = decide(first.state, frame(3, { matches: [killMatch] }), ctx, options, 60_000);
    expect(types(later.effects)).toEqual(['killswitch', 'case_updated']);
    expect(caseEffects(later.effects)[0]!.change).toEqual(['kill_switch']);
  });

  it('is never smoothed: with k = 5 of 5 a single matching frame still kills', () => {
    const strict = { ...options, smoothing: { k: 5, n: 5 } };
    expect(kills(decide(INITIAL_POLICY_STATE, frame(1, { matches: [killMatch] }), ctx, strict, 0).effects)).toHaveLength(1);
  });

  it('marks kill-switches and cases as shadow in shadow mode', () => {
    const r = decide(INITIAL_POLICY_STATE, frame(1, { matches: [killMatch] }), ctx, { ...options, mode: 'shadow' }, 0);
    expect(kills(r.effects)[0]!.shadow).toBe(true);
    expect(caseEffects(r.effects)[0]!.record.shadow).toBe(true);
  });
});

describe('decide: classifier rules (unsmoothed)', () => {
  it('opens a critical case for explicit content with a possible minor, at the lower threshold', () => {
    const r = decide(INITIAL_POLICY_STATE, frame(1, { signals: explicit(0.55, [19.5, 40]) }), ctx, unsmoothed, 0);
    const record = caseEffects(r.effects)[0]!.record;
    expect(record).toMatchObject({
      reasonClass: 'classifier:explicit',
      priority: 'critical',
      policy: { rule: 'explicit_with_possible_minor' },
    });
    expect(record.reasons).toEqual([
      {
        kind: 'classifier',
        signal: 'explicit',
        score: 0.55,
        peak: 0.55,
        threshold: 0.5,
        recent: [{ seq: 1, at: expect.any(String), score: 0.55 }],
      },
      { kind: 'possible_minor', minAge: 19.5, challengeAge: 25 },
    ]);
    expect(caseEffects(r.effects)[0]!.evidence).toEqual({ preserveOriginal: false });
  });

  it('decides what a possible minor is from its own challenge age', () => {
    const signals = explicit(0.55, [21]);
    expect(caseEffects(decide(INITIAL_POLICY_STATE, frame(1, { signals }), ctx, unsmoothed, 0).effects)[0]!.record.priority).toBe(
      'critical',
    );
    expect(decide(INITIAL_POLICY_STATE, frame(1, { signals }), ctx, { ...unsmoothed, challengeAge: 18 }, 0).effects).toEqual([]);
    // No faces: nothing about minors can be said, the lower bar does not apply.
    expect(decide(INITIAL_POLICY_STATE, frame(1, { signals: explicit(0.55) }), ctx, unsmoothed, 0).effects).toEqual([]);
  });

  it('reports no age for a possible minor whose face has no readable age', () => {
    const r = decide(INITIAL_POLICY_STATE, frame(1, { signals: explicit(0.6, [NaN]) }), ctx, unsmoothed, 0);
    expect(caseEffects(r.effects)[0]!.record.reasons[1]).toEqual({ kind: 'possible_minor', challengeAge: 25 });
  });

  it('opens a normal case for explicit content alone, only from its threshold', () => {
    expect(decide(INITIAL_POLICY_STATE, frame(1, { signals: explicit(0.89) }), ctx, unsmoothed, 0).effects).toEqual([]);
    const r = decide(INITIAL_POLICY_STATE, frame(1, { signals: explicit(0.9) }), ctx, unsmoothed, 0);
    expect(caseEffects(r.effects)[0]!.record).toMatchObject({ priority: 'normal', policy: { rule: 'explicit' } });
  });

  it('opens a case per drop-in signal: high alone, critical with a possible minor', () => {
    const high = decide(INITIAL_POLICY_STATE, frame(1, { signals: { custom: { vendor_csam: 0.71 } } }), ctx, unsmoothed, 0);
    expect(caseEffects(high.effects)[0]!.record).toMatchObject({
      reasonClass: 'classifier:vendor_csam',
      priority: 'high',
      policy: { rule: 'custom_signal' },
    });
    const crit = decide(
      INITIAL_POLICY_STATE,
      frame(1, { signals: { custom: { vendor_csam: 0.71 }, faces: [{ box: [0, 0, 9, 9], score: 0.9, age: 16 }] } }),
      ctx,
      unsmoothed,
      0,
    );
    expect(caseEffects(crit.effects)[0]!.record).toMatchObject({
      priority: 'critical',
      policy: { rule: 'custom_signal_with_possible_minor' },
    });
    expect(decide(INITIAL_POLICY_STATE, frame(1, { signals: { custom: { vendor_csam: 0.69 } } }), ctx, unsmoothed, 0).effects).toEqual([]);
  });

  it('builds case records that the case_opened contract accepts', () => {
    const r = decide(INITIAL_POLICY_STATE, frame(1, { signals: explicit(0.97, [15]) }), ctx, unsmoothed, 0);
    const { state: _s, publishedAt: _p, closure: _c, ...body } = caseEffects(r.effects)[0]!.record;
    expect(CaseOpenedSchema.safeParse({ schemaVersion: 1, type: 'case_opened', eventId: 'e1', ...body }).success).toBe(true);
  });
});

describe('decide: one case per stream and reason class', () => {
  it('updates the open case with later frames instead of opening new ones, at most every caseUpdateIntervalMs', () => {
    const frames = Array.from({ length: 25 }, () => ({ signals: explicit(0.95) }));
    const { effects, state } = run(frames, unsmoothed);
    expect(types(effects).filter((t) => t === 'case_opened')).toHaveLength(1);
    // Opened at t=0 s; score updates at t=10 s and t=20 s (caseUpdateIntervalMs 10 s).
    const updates = caseEffects(effects).filter((e) => e.type === 'case_updated');
    expect(updates.map((u) => u.change)).toEqual([['scores'], ['scores']]);
    expect(updates.map((u) => u.record.revision)).toEqual([2, 3]);
    expect(updates.every((u) => !u.page)).toBe(true);
    // The history between updates is kept, not lost: every frame's score is in the case.
    const reason = state.cases[0]!.reasons[0]!;
    expect(reason.kind === 'classifier' && reason.recent?.length).toBe(25);
  });

  it('raises the priority and re-pages when a possible minor joins, with the peak score kept', () => {
    const { effects } = run([{ signals: explicit(0.97) }, { signals: explicit(0.93, [15]) }], unsmoothed);
    const up = caseEffects(effects).find((e) => e.type === 'case_updated')!;
    expect(up.change).toEqual(['priority_raised', 'scores']);
    expect(up.page).toBe(true);
    expect(up.evidence).toEqual({ preserveOriginal: false });
    expect(up.record).toMatchObject({ priority: 'critical', revision: 2, policy: { rule: 'explicit_with_possible_minor' } });
    expect(up.record.reasons[0]).toMatchObject({ score: 0.93, peak: 0.97, threshold: 0.5 });
  });

  it('never lowers a priority: the critical case stays critical when the minor leaves', () => {
    const { state } = run(
      [{ signals: explicit(0.97, [15]) }, ...Array.from({ length: 20 }, () => ({ signals: explicit(0.97) }))],
      unsmoothed,
    );
    expect(state.cases.map((c) => c.priority)).toEqual(['critical']);
  });

  it('keeps separate cases for separate classes', () => {
    const r = decide(
      INITIAL_POLICY_STATE,
      frame(1, { matches: [escalateMatch], signals: { ...explicit(0.95), custom: { vendor_csam: 0.9 } } }),
      ctx,
      unsmoothed,
      0,
    );
    expect(caseEffects(r.effects).map((e) => e.record.reasonClass)).toEqual([
      'hash_match',
      'classifier:explicit',
      'classifier:vendor_csam',
    ]);
    expect(new Set(caseEffects(r.effects).map((e) => e.record.caseId)).size).toBe(3);
  });
});

describe('decide: temporal smoothing (k of n, default 3 of 5)', () => {
  it('needs the signal on 3 of the last 5 classified frames', () => {
    const hit = { signals: explicit(0.95) };
    const miss = { signals: clean };
    expect(run([hit, hit, miss, miss, miss, hit]).effects).toEqual([]);
    const { effects } = run([hit, miss, hit, miss, hit]);
    expect(types(effects)).toEqual(['case_opened']);
    expect(caseEffects(effects)[0]!.record.frame?.seq).toBe(4);
  });

  it('does not count frames the classifiers did not see, either way', () => {
    const hit = { signals: explicit(0.95) };
    expect(types(run([hit, {}, {}, hit, {}, hit]).effects)).toEqual(['case_opened']);
  });

  it('is critical only once the possible minor itself is on k frames; until then the case is normal', () => {
    const minor = { signals: explicit(0.6, [15]) };
    const adult = { signals: explicit(0.95, [40]) };
    const { effects } = run([adult, adult, minor, adult, minor, minor]);
    expect(caseEffects(effects).map((e) => [e.type, e.record.priority])).toEqual([
      ['case_opened', 'normal'],
      ['case_updated', 'critical'],
    ]);
  });

  it('never pages for the false alarm the issue reports: two isolated critical-looking frames in a minute', () => {
    // Animated trailer: "explicit" 0.50 and 0.60 with apparent ages 18.6 and 19.4, on 2 of 60 frames.
    const frames = Array.from({ length: 60 }, (_, i) =>
      i === 17 ? { signals: explicit(0.5, [18.6]) } : i === 41 ? { signals: explicit(0.6, [19.4]) } : { signals: explicit(0.1, [30]) },
    );
    expect(run(frames).effects).toEqual([]);
    // Unsmoothed (1 of 1), as before this issue, the first odd frame pages as critical.
    const pages = caseEffects(run(frames, unsmoothed).effects).filter((e) => e.page);
    expect(pages.map((e) => [e.type, e.record.priority, e.record.frame?.seq])).toEqual([['case_opened', 'critical', 17]]);
  });
});
