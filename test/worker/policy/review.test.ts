import { describe, expect, it } from 'vitest';
import { ReviewDecisionSchema, type ReviewDecision } from '../../../src/contracts/index.js';
import {
  applyReview,
  decide,
  INITIAL_POLICY_STATE,
  recordListVersion,
  streamEnded,
  type PolicyState,
} from '../../../src/worker/policy/index.js';
import { caseEffects, ctx, explicit, frame, kills, options, types, unsmoothed } from './support.js';

function withOpenCase(signals = explicit(0.95)): { state: PolicyState; caseId: string } {
  const r = decide(INITIAL_POLICY_STATE, frame(3, { signals }), ctx, unsmoothed, 0);
  return { state: r.state, caseId: caseEffects(r.effects)[0]!.record.caseId };
}

function decision(caseId: string, over: Partial<ReviewDecision> = {}): ReviewDecision {
  return ReviewDecisionSchema.parse({
    schemaVersion: 1,
    type: 'review_decision',
    decisionId: 'd-1',
    caseId,
    streamId: 's1',
    decision: 'confirm',
    reviewer: 'alice',
    decidedAt: '2026-01-01T00:00:00Z',
    source: 'cli',
    ...over,
  });
}

describe('applyReview', () => {
  it('confirm: publishes a review_confirmed kill-switch (never shadow) first, then closes the case confirmed', () => {
    const { state, caseId } = withOpenCase();
    const r = applyReview(state, decision(caseId), ctx, { ...options, mode: 'shadow' }, 5000);
    expect(types(r.effects)).toEqual(['killswitch', 'case_closed']);
    const kill = kills(r.effects)[0]!;
    expect(kill).toMatchObject({
      reason: 'review_confirmed',
      rule: 'review_confirmed',
      caseId,
      shadow: false,
      review: { decisionId: 'd-1', reviewer: 'alice' },
    });
    expect(kill.frame?.seq).toBe(3);
    const record = caseEffects(r.effects)[0]!.record;
    expect(record).toMatchObject({
      state: 'closed',
      revision: 2,
      closure: { cause: 'review', decisionId: 'd-1', reviewer: 'alice', resolution: 'confirmed' },
      killSwitch: { eventId: kill.eventId, reason: 'review_confirmed' },
      policy: { rule: 'review_confirmed' },
    });
    expect(r.ack).toEqual({
      result: 'applied',
      caseState: { state: 'closed', priority: 'normal', revision: 2, killSwitchEventId: kill.eventId },
    });
  });

  it('is applied once: the same decision id again is a duplicate with the state as it is, and no effects', () => {
    const { state, caseId } = withOpenCase();
    const first = applyReview(state, decision(caseId), ctx, options, 5000);
    const again = applyReview(first.state, decision(caseId), ctx, options, 9000);
    expect(again.effects).toEqual([]);
    expect(again.state).toBe(first.state);
    expect(again.ack.result).toBe('duplicate');
    expect(again.ack.caseState).toEqual(first.ack.caseState);
  });

  it('confirm after the stream ended still produces the kill-switch; the case stays closed', () => {
    const { state, caseId } = withOpenCase();
    const ended = streamEnded(state, ctx, 2000);
    const r = applyReview(ended.state, decision(caseId), ctx, options, 5000);
    expect(types(r.effects)).toEqual(['killswitch', 'case_closed']);
    expect(caseEffects(r.effects)[0]!.record).toMatchObject({
      state: 'closed',
      revision: 3,
      closure: { cause: 'review', resolution: 'confirmed' },
    });
    expect(r.ack.result).toBe('applied');
  });

  it('dismiss: closes the case and suppresses its class for dismissSuppressMs, at or below its priority', () => {
    const { state, caseId } = withOpenCase();
    const r = applyReview(state, decision(caseId, { decision: 'dismiss' }), ctx, unsmoothed, 5000);
    expect(types(r.effects)).toEqual(['case_closed']);
    expect(caseEffects(r.effects)[0]!.record.closure).toMatchObject({ resolution: 'dismissed' });
    const until = 5000 + unsmoothed.dismissSuppressMs;
    expect(r.ack).toEqual({
      result: 'applied',
      caseState: { state: 'closed', priority: 'normal', revision: 2, suppressedUntil: new Date(until).toISOString() },
    });

    // Inside the suppression: the same signal opens nothing.
    const quiet = decide(r.state, frame(10, { signals: explicit(0.99) }), ctx, unsmoothed, until - 1);
    expect(quiet.effects).toEqual([]);
    // A higher priority is not what was dismissed: it opens a new case.
    const minor = decide(r.state, frame(11, { signals: explicit(0.99, [14]) }), ctx, unsmoothed, until - 1);
    expect(caseEffects(minor.effects).map((e) => [e.type, e.record.priority])).toEqual([['case_opened', 'critical']]);
    expect(caseEffects(minor.effects)[0]!.record.caseId).not.toBe(caseId);
    // After it, the class opens a new case again.
    const after = decide(r.state, frame(12, { signals: explicit(0.99) }), ctx, unsmoothed, until);
    expect(types(after.effects)).toEqual(['case_opened']);
  });

  it('escalate: raises the priority one step (or to the one asked for) and re-pages', () => {
    const { state, caseId } = withOpenCase();
    const r = applyReview(state, decision(caseId, { decision: 'escalate' }), ctx, options, 5000);
    const up = caseEffects(r.effects)[0]!;
    expect([up.type, up.change, up.page, up.record.priority, up.record.policy.rule]).toEqual([
      'case_updated',
      ['review', 'priority_raised'],
      true,
      'high',
      'review_escalated',
    ]);
    const crit = applyReview(
      state,
      decision(caseId, { decision: 'escalate', priority: 'critical', decisionId: 'd-2' }),
      ctx,
      options,
      5000,
    );
    expect(crit.ack.caseState.priority).toBe('critical');
  });

  it('rejects dismiss and escalate on a closed case, and anything on an unknown case, and remembers the answer', () => {
    const { state, caseId } = withOpenCase();
    const ended = streamEnded(state, ctx, 2000).state;
    const dismiss = applyReview(ended, decision(caseId, { decision: 'dismiss' }), ctx, options, 5000);
    expect(dismiss.ack).toMatchObject({ result: 'rejected', detail: 'case_closed', caseState: { state: 'closed' } });
    expect(dismiss.effects).toEqual([]);
    const unknown = applyReview(ended, decision('case-nope', { decisionId: 'd-9' }), ctx, options, 5000);
    expect(unknown.ack).toEqual({ result: 'rejected', detail: 'case_unknown', caseState: { state: 'unknown' } });
    expect(applyReview(unknown.state, decision('case-nope', { decisionId: 'd-9' }), ctx, options, 6000).ack).toMatchObject({
      result: 'duplicate',
      detail: 'case_unknown',
    });
  });

  it('add-to-list: hands the list change to the applier and leaves the case as it is; the list version joins later acks', () => {
    const { state, caseId } = withOpenCase();
    const list = { id: 'review-added', action: 'escalate' as const, hash: 'e'.repeat(64) };
    const r = applyReview(state, decision(caseId, { decision: 'add-to-list', list }), ctx, options, 5000);
    expect(r.effects).toEqual([]);
    expect(r.addToList).toEqual(list);
    expect(r.ack.caseState).toEqual({ state: 'open', priority: 'normal', revision: 1 });
    const withVersion = recordListVersion(r.state, 'd-1', 'v-abc');
    expect(
      applyReview(withVersion, decision(caseId, { decision: 'add-to-list', list }), ctx, options, 6000).ack.caseState.listVersion,
    ).toBe('v-abc');
  });
});
