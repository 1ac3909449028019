import { describe, expect, it } from 'vitest';
import { CaseOpenedSchema, KillSwitchEventSchema } from '../../../src/contracts/index.js';
import { decide, INITIAL_POLICY_STATE, unclassified, unscreened, streamEnded, attachEvidence } from '../../../src/worker/policy/index.js';
import { caseEffects, ctx, explicit, frame, kills, options, types } from './support.js';

const sourceFailed = { code: 'source_failed', message: 'gave up after 5 attempts' };

describe('fail-safe', () => {
  it('opens an unscreened case (rule fail_safe) without a frame, and no kill-switch by default', () => {
    const r = unscreened(INITIAL_POLICY_STATE, sourceFailed, ctx, options, 0);
    expect(types(r.effects)).toEqual(['case_opened']);
    const record = caseEffects(r.effects)[0]!.record;
    expect(record).toMatchObject({
      reasonClass: 'unscreened',
      priority: 'normal',
      policy: { rule: 'fail_safe' },
      reasons: [{ kind: 'unscreened', ...sourceFailed }],
    });
    expect(record.frame).toBeUndefined();
    const { state: _s, publishedAt: _p, ...body } = record;
    expect(CaseOpenedSchema.safeParse({ schemaVersion: 1, type: 'case_opened', eventId: 'e', ...body }).success).toBe(true);
  });

  it('with policy.failClosed it is a kill-switch (reason fail_closed) first, recorded on the case', () => {
    const r = unscreened(INITIAL_POLICY_STATE, sourceFailed, ctx, { ...options, failClosed: true }, 0);
    expect(types(r.effects)).toEqual(['killswitch', 'case_opened']);
    const kill = kills(r.effects)[0]!;
    expect(kill).toMatchObject({ reason: 'fail_closed', rule: 'fail_closed', unscreened: sourceFailed });
    expect(caseEffects(r.effects)[0]!.record.killSwitch).toMatchObject({ eventId: kill.eventId, reason: 'fail_closed' });
    const event = {
      schemaVersion: 1,
      type: 'killswitch',
      eventId: kill.eventId,
      streamId: 's1',
      reason: 'fail_closed',
      unscreened: kill.unscreened,
      decidedAt: '2026-01-01T00:00:00Z',
      workerId: 'w1',
    };
    expect(KillSwitchEventSchema.safeParse(event).success).toBe(true);
    expect(KillSwitchEventSchema.safeParse({ ...event, unscreened: undefined }).success).toBe(false);
  });

  it('keeps one unscreened case per stream: a second cause joins it, a repeat adds nothing', () => {
    const first = unscreened(INITIAL_POLICY_STATE, sourceFailed, ctx, options, 0);
    expect(unscreened(first.state, sourceFailed, ctx, options, 1000).effects).toEqual([]);
    const second = unscreened(first.state, { code: 'models_not_ready', message: 'warming up' }, ctx, options, 1000);
    expect(caseEffects(second.effects)[0]!.record.reasons.map((x) => x.kind === 'unscreened' && x.code)).toEqual([
      'source_failed',
      'models_not_ready',
    ]);
  });

  it('counts unclassified frames and opens the case once, at policy.unclassifiedFramesToReport in a row', () => {
    const shed = { code: 'classifiers_shed', message: 'over budget' };
    let state = INITIAL_POLICY_STATE;
    const opened: number[] = [];
    for (let i = 1; i <= 25; i++) {
      const r = unclassified(state, shed, ctx, options, i * 1000);
      state = r.state;
      if (r.effects.length) opened.push(i);
    }
    expect(opened).toEqual([options.unclassifiedFramesToReport]);
    // A classified frame restarts the count.
    const classified = decide(state, frame(30, { signals: explicit(0.1) }), ctx, options, 30_000);
    expect(classified.state.unclassified).toBe(0);
  });
});

describe('stream end and evidence', () => {
  it('closes every open case when the stream ends', () => {
    const a = unscreened(INITIAL_POLICY_STATE, sourceFailed, ctx, options, 0);
    const r = streamEnded(a.state, ctx, 5000);
    expect(caseEffects(r.effects).map((e) => [e.type, e.record.state, e.record.closure?.cause])).toEqual([
      ['case_closed', 'closed', 'stream_ended'],
    ]);
    expect(streamEnded(r.state, ctx, 6000).effects).toEqual([]);
  });

  it('attaches stored evidence in a follow-up update, merged by frame and capped', () => {
    const a = unscreened(INITIAL_POLICY_STATE, sourceFailed, ctx, options, 0);
    const caseId = caseEffects(a.effects)[0]!.record.caseId;
    const ref = {
      bucket: 'b',
      name: 'n',
      sha256: 'f'.repeat(64),
      size: 1,
      contentType: 'image/jpeg' as const,
      rendition: 'blurred' as const,
      blurred: true,
      preserved: false,
      encryption: 'none' as const,
    };
    const f = (seq: number, decisive = false) => ({ seq, capturedAt: new Date(seq * 1000).toISOString(), decisive, renditions: [ref] });
    const one = attachEvidence(a.state, caseId, [f(1), f(2, true)], ctx, 1000);
    expect(caseEffects(one.effects).map((e) => [e.type, e.change, e.record.revision])).toEqual([['case_updated', ['evidence'], 2]]);
    const two = attachEvidence(one.state, caseId, [f(2), f(3, true)], ctx, 2000);
    expect(caseEffects(two.effects)[0]!.record.storyboard.map((x) => [x.seq, x.decisive])).toEqual([
      [1, false],
      [2, true],
      [3, true],
    ]);
    const many = attachEvidence(
      two.state,
      caseId,
      Array.from({ length: 40 }, (_, i) => f(i + 10)),
      ctx,
      3000,
    );
    expect(caseEffects(many.effects)[0]!.record.storyboard).toHaveLength(32);
    // Closed meanwhile: the evidence still joins, in a case_closed event.
    const ended = streamEnded(two.state, ctx, 4000);
    expect(types(attachEvidence(ended.state, caseId, [f(5)], ctx, 5000).effects)).toEqual(['case_closed']);
  });
});
