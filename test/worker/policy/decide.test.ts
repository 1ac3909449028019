import { describe, expect, it } from 'vitest';
import type { HashMatch } from '../../../src/contracts/index.js';
import type { PolicyOptions } from '../../../src/config/index.js';
import { decide, INITIAL_POLICY_STATE, type FrameAnalysis } from '../../../src/worker/policy/index.js';

const options: PolicyOptions = {
  mode: 'enforce',
  killSwitchCooldownMs: 60_000,
  escalationCooldownMs: 30_000,
  nudityEscalateAt: 0.9,
  nudityWithMinorEscalateAt: 0.5,
  challengeAge: 25,
  customEscalateAt: { vendor_csam: 0.7 },
};

const killMatch: HashMatch = { list: 'confirmed', distance: 12, hash: 'a'.repeat(64), action: 'kill' };
const nearerKill: HashMatch = { list: 'other', distance: 3, hash: 'b'.repeat(64), action: 'kill' };
const escalateMatch: HashMatch = { list: 'suspected', distance: 20, hash: 'c'.repeat(64), action: 'escalate' };

const frame = (over: Partial<FrameAnalysis> = {}): FrameAnalysis => ({ capturedAt: 0, seq: 1, matches: [], ...over });

describe('decide', () => {
  it('does nothing for a clean frame', () => {
    const r = decide(INITIAL_POLICY_STATE, frame({ signals: { nudity: { neutral: 0.99, porn: 0.01 } } }), options, 0);
    expect(r.decisions).toEqual([]);
    expect(r.state).toBe(INITIAL_POLICY_STATE);
  });

  it('kills on a kill-list match, reporting the closest match', () => {
    const r = decide(INITIAL_POLICY_STATE, frame({ matches: [killMatch, nearerKill] }), options, 1000);
    expect(r.decisions[0]).toEqual({ kind: 'killswitch', match: nearerKill, shadow: false });
    expect(r.state.lastKillSwitchAt).toBe(1000);
  });

  it('treats a match without an action as a kill-list match', () => {
    const { action: _a, ...bare } = killMatch;
    const r = decide(INITIAL_POLICY_STATE, frame({ matches: [bare] }), options, 0);
    expect(r.decisions.map((d) => d.kind)).toEqual(['killswitch']);
  });

  it('escalates (never kills) on an escalate-list match', () => {
    const r = decide(INITIAL_POLICY_STATE, frame({ matches: [escalateMatch] }), options, 0);
    expect(r.decisions).toEqual([
      { kind: 'escalation', priority: 'high', reasons: [{ kind: 'hash_match', match: escalateMatch }], shadow: false },
    ]);
  });

  it('adds an escalation beside a kill only for what the kill does not already say', () => {
    const withSignals = decide(INITIAL_POLICY_STATE, frame({ matches: [killMatch], signals: { nudity: { porn: 0.99 } } }), options, 0);
    expect(withSignals.decisions.map((d) => d.kind)).toEqual(['killswitch', 'escalation']);
    const r = decide(INITIAL_POLICY_STATE, frame({ matches: [killMatch, escalateMatch] }), options, 0);
    expect(r.decisions.map((d) => d.kind)).toEqual(['killswitch', 'escalation']);
    const esc = r.decisions[1];
    expect(esc?.kind === 'escalation' && esc.reasons).toEqual([{ kind: 'hash_match', match: escalateMatch }]);
    const onlyKill = decide(INITIAL_POLICY_STATE, frame({ matches: [killMatch] }), options, 0);
    expect(onlyKill.decisions.map((d) => d.kind)).toEqual(['killswitch']);
  });

  it('suppresses a second kill-switch within the cooldown, without escalating instead, and allows it after', () => {
    const first = decide(INITIAL_POLICY_STATE, frame({ matches: [killMatch] }), options, 0);
    const repeat = decide(first.state, frame({ matches: [killMatch] }), options, 59_999);
    expect(repeat.decisions).toEqual([]);
    const later = decide(first.state, frame({ matches: [killMatch] }), options, 60_000);
    expect(later.decisions.map((d) => d.kind)).toContain('killswitch');
  });

  it('escalates explicit content with a possible minor as critical, at the lower threshold', () => {
    const signals = {
      nudity: { porn: 0.4, hentai: 0.15, neutral: 0.45 },
      faces: [{ box: [0, 0, 10, 10] as const, score: 0.9, age: 19.5 }],
    };
    const r = decide(INITIAL_POLICY_STATE, frame({ signals }), options, 0);
    expect(r.decisions).toHaveLength(1);
    const d = r.decisions[0]!;
    expect(d.kind === 'escalation' && d.priority).toBe('critical');
    expect(d.kind === 'escalation' && d.reasons.map((x) => x.kind)).toEqual(['classifier', 'possible_minor']);
    expect(d.kind === 'escalation' && d.reasons[1]).toEqual({ kind: 'possible_minor', minAge: 19.5, challengeAge: 25 });
  });

  it('decides what a possible minor is from its own challenge age: a shadow policy can try another on the same frame', () => {
    const signals = { nudity: { porn: 0.55 }, faces: [{ box: [0, 0, 10, 10] as const, score: 0.9, age: 21 }] };
    const live = decide(INITIAL_POLICY_STATE, frame({ signals }), options, 0).decisions[0];
    expect(live?.kind === 'escalation' && live.priority).toBe('critical');
    // At 18 the 21-year-old estimate is no possible minor, and 0.55 alone is below the explicit bar.
    expect(decide(INITIAL_POLICY_STATE, frame({ signals }), { ...options, challengeAge: 18 }, 0).decisions).toEqual([]);
    // No faces: nothing about minors can be said, the lower bar does not apply.
    expect(decide(INITIAL_POLICY_STATE, frame({ signals: { nudity: { porn: 0.55 } } }), options, 0).decisions).toEqual([]);
  });

  it('reports no age for a possible minor whose face has no readable age', () => {
    const signals = { nudity: { porn: 0.6 }, faces: [{ box: [0, 0, 9, 9] as const, score: 0.8, age: NaN }] };
    const d = decide(INITIAL_POLICY_STATE, frame({ signals }), options, 0).decisions[0]!;
    expect(d.kind === 'escalation' && d.reasons[1]).toEqual({ kind: 'possible_minor', challengeAge: 25 });
  });

  it('escalates explicit content alone at normal priority, and only above its threshold', () => {
    const below = decide(INITIAL_POLICY_STATE, frame({ signals: { nudity: { porn: 0.85, hentai: 0.04 } } }), options, 0);
    expect(below.decisions).toEqual([]);
    const above = decide(INITIAL_POLICY_STATE, frame({ signals: { nudity: { porn: 0.85, hentai: 0.05 } } }), options, 0);
    expect(above.decisions[0]?.kind === 'escalation' && above.decisions[0].priority).toBe('normal');
  });

  it('escalates on a drop-in classifier signal, critical with a possible minor', () => {
    const high = decide(INITIAL_POLICY_STATE, frame({ signals: { custom: { vendor_csam: 0.71 } } }), options, 0);
    expect(high.decisions[0]?.kind === 'escalation' && high.decisions[0].priority).toBe('high');
    const crit = decide(
      INITIAL_POLICY_STATE,
      frame({ signals: { custom: { vendor_csam: 0.71 }, faces: [{ box: [0, 0, 9, 9] as const, score: 0.9, age: 16 }] } }),
      options,
      0,
    );
    expect(crit.decisions[0]?.kind === 'escalation' && crit.decisions[0].priority).toBe('critical');
    const none = decide(INITIAL_POLICY_STATE, frame({ signals: { custom: { vendor_csam: 0.69 } } }), options, 0);
    expect(none.decisions).toEqual([]);
  });

  it('suppresses repeated escalations unless the priority rises', () => {
    const normal = { nudity: { porn: 0.95 } };
    const first = decide(INITIAL_POLICY_STATE, frame({ signals: normal }), options, 0);
    expect(decide(first.state, frame({ signals: normal }), options, 10_000).decisions).toEqual([]);
    const raised = decide(first.state, frame({ matches: [escalateMatch] }), options, 10_000);
    expect(raised.decisions[0]?.kind === 'escalation' && raised.decisions[0].priority).toBe('high');
    expect(decide(raised.state, frame({ signals: normal }), options, 20_000).decisions).toEqual([]);
    expect(decide(first.state, frame({ signals: normal }), options, 30_000).decisions).toHaveLength(1);
  });

  it('marks every decision as shadow in shadow mode', () => {
    const r = decide(INITIAL_POLICY_STATE, frame({ matches: [killMatch, escalateMatch] }), { ...options, mode: 'shadow' }, 0);
    expect(r.decisions.length).toBe(2);
    expect(r.decisions.every((d) => d.shadow)).toBe(true);
  });

  it('acts on a known-video match like a match on its list, kill sharing the kill cooldown', () => {
    const video = {
      id: 'case-17',
      share: 0.5,
      queryShare: 0.9,
      matchedFrames: 9,
      videoFrames: 18,
      segment: { start: 4, end: 12 },
      rule: 'run' as const,
    };
    const videoKill: HashMatch = { list: 'known-videos', distance: 9, hash: 'd'.repeat(64), action: 'kill', video };
    const first = decide(INITIAL_POLICY_STATE, frame({ videoMatches: [videoKill] }), options, 0);
    expect(first.decisions).toEqual([{ kind: 'killswitch', match: videoKill, shadow: false }]);
    // Within the cooldown a frame hash match on the same stream adds no second kill-switch.
    expect(decide(first.state, frame({ matches: [killMatch] }), options, 1_000).decisions).toEqual([]);
    // The closest of frame and video matches is the one reported.
    expect(decide(INITIAL_POLICY_STATE, frame({ matches: [killMatch], videoMatches: [videoKill] }), options, 0).decisions[0]).toMatchObject(
      {
        match: videoKill,
      },
    );
    const videoEscalate: HashMatch = { ...videoKill, list: 'suspected-videos', action: 'escalate' };
    const esc = decide(INITIAL_POLICY_STATE, frame({ videoMatches: [videoEscalate] }), options, 0);
    expect(esc.decisions).toEqual([
      { kind: 'escalation', priority: 'high', reasons: [{ kind: 'hash_match', match: videoEscalate }], shadow: false },
    ]);
  });
});
