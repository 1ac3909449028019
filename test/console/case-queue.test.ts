import { describe, expect, it } from 'vitest';
import type { ReviewAck, ReviewDecision } from '../../src/contracts/index.js';
import { CaseQueue } from '../../src/console/queue/case-queue.js';
import { shiftEndsAt, shiftIndex } from '../../src/console/queue/shifts.js';
import { caseClosed, caseOpened, caseUpdated } from '../support/case-events.js';

const MIN = 60_000;
const deadlines = { critical: 2 * MIN, high: 10 * MIN, normal: 60 * MIN };
const t0 = new Date('2026-03-01T10:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);

describe('case queue (pure fold of case events, decisions and acks)', () => {
  it('orders open cases by priority, then by the nearest deadline; closed ones last', () => {
    const q = new CaseQueue(deadlines, 10 * MIN);
    q.applyCase(caseOpened({ caseId: 'n', streamId: 's1', priority: 'normal', openedAt: t0 }));
    q.applyCase(caseOpened({ caseId: 'h-late', streamId: 's2', priority: 'high', openedAt: at(MIN) }));
    q.applyCase(caseOpened({ caseId: 'h-early', streamId: 's3', priority: 'high', openedAt: t0 }));
    q.applyCase(caseOpened({ caseId: 'c', streamId: 's4', priority: 'critical', openedAt: at(5 * MIN) }));
    q.applyCase(
      caseClosed({ caseId: 'x', streamId: 's5', priority: 'critical', openedAt: t0 }, 2, { cause: 'stream_ended', at: t0.toISOString() }),
    );
    expect(q.cards(t0.getTime()).map((c) => c.caseId)).toEqual(['c', 'h-early', 'h-late', 'n', 'x']);
    expect(q.card('c')!.deadlineAt).toBe(at(7 * MIN).toISOString());
  });

  it('keeps the highest revision; the deadline of a raised case runs from the raise', () => {
    const q = new CaseQueue(deadlines, 10 * MIN);
    const seed = { caseId: 'c1', streamId: 's1', priority: 'normal' as const, openedAt: t0 };
    expect(q.applyCase(caseOpened(seed))).toBe(true);
    const raised = { ...caseUpdated({ ...seed, priority: 'critical' }, 3, ['priority_raised']), updatedAt: at(30 * MIN).toISOString() };
    expect(q.applyCase(raised)).toBe(true);
    expect(q.applyCase(caseUpdated(seed, 2, ['scores']))).toBe(false); // older: ignored
    expect(q.applyCase(raised)).toBe(false); // repeated: ignored
    const card = q.card('c1')!;
    expect([card.revision, card.priority, card.deadlineAt]).toEqual([3, 'critical', at(32 * MIN).toISOString()]);
  });

  it('merges score windows across revisions into one history per signal (the sparkline)', () => {
    const q = new CaseQueue(deadlines, 10 * MIN);
    q.applyCase(caseOpened({ caseId: 'c1', streamId: 's1', scores: [0.5, 0.6] }));
    const next = caseUpdated({ caseId: 'c1', streamId: 's1', scores: [0.5, 0.6, 0.7] }, 2, ['scores']);
    // The worker's window slid: it starts at seq 1 now, the console still has seq 0.
    const shifted = {
      ...next,
      reasons: next.reasons.map((r) => (r.kind === 'classifier' ? { ...r, recent: (r.recent ?? []).slice(1) } : r)),
    };
    q.applyCase(shifted);
    expect(q.card('c1')!.reasons[0]!.history!.map((p) => p.score)).toEqual([0.5, 0.6, 0.7]);
  });

  it('attaches decisions and their acks to the case; an ack without a seen decision still shows', () => {
    const q = new CaseQueue(deadlines, 10 * MIN);
    q.applyCase(caseOpened({ caseId: 'c1', streamId: 's1' }));
    const decision: ReviewDecision = {
      schemaVersion: 1,
      type: 'review_decision',
      decisionId: 'd1',
      caseId: 'c1',
      streamId: 's1',
      decision: 'dismiss',
      reviewer: 'alice',
      decidedAt: t0.toISOString(),
      source: 'console',
    };
    const ack = (decisionId: string): ReviewAck => ({
      schemaVersion: 1,
      type: 'review_ack',
      eventId: `ack-${decisionId}`,
      decisionId,
      caseId: 'c1',
      streamId: 's1',
      decision: 'dismiss',
      reviewer: 'bob',
      result: 'applied',
      caseState: { state: 'closed', suppressedUntil: at(MIN).toISOString() },
      at: t0.toISOString(),
      workerId: 'w',
    });
    expect(q.applyDecision(decision)).toBe(true);
    expect(q.applyDecision(decision)).toBe(false);
    expect(q.applyAck(ack('d1'))).toBe(true);
    expect(q.applyAck(ack('d1'))).toBe(false);
    expect(q.applyAck(ack('d-other'))).toBe(true);
    expect(q.card('c1')!.decisions.map((d) => [d.decisionId, d.ack?.result, d.ack?.suppressedUntil])).toEqual([
      ['d1', 'applied', at(MIN).toISOString()],
      ['d-other', 'applied', at(MIN).toISOString()],
    ]);
    expect(q.applyAck({ ...ack('d9'), caseId: 'unknown' })).toBe(false);
  });

  it('never shows shadow cases, and forgets closed cases after closedVisibleMs', () => {
    const q = new CaseQueue(deadlines, MIN);
    expect(q.applyCase({ ...caseOpened({ caseId: 'sh', streamId: 's1' }), shadow: true })).toBe(false);
    const closed = caseClosed({ caseId: 'c1', streamId: 's1', openedAt: t0 }, 2, { cause: 'review', at: t0.toISOString() });
    q.applyCase(closed);
    const closedAt = Date.parse(closed.updatedAt);
    expect(q.cards(closedAt).map((c) => c.caseId)).toEqual(['c1']);
    expect(q.prune(closedAt + MIN)).toEqual(['c1']);
    expect(q.cards(closedAt + MIN)).toEqual([]);
  });

  it('a claim shows on an open case only, and reports whether it changed', () => {
    const q = new CaseQueue(deadlines, MIN);
    q.applyCase(caseOpened({ caseId: 'c1', streamId: 's1' }));
    const claim = { reviewer: 'alice', reviewerName: 'Alice', expiresAt: t0.toISOString() };
    expect(q.setClaim('c1', claim)).toBe(true);
    expect(q.setClaim('c1', { ...claim })).toBe(false);
    expect(q.card('c1')!.claim).toEqual(claim);
    q.applyCase(caseClosed({ caseId: 'c1', streamId: 's1' }, 2, { cause: 'stream_ended', at: t0.toISOString() }));
    expect(q.card('c1')!.claim).toBeUndefined();
  });
});

describe('shifts', () => {
  it('are fixed windows from 00:00 UTC plus the offset', () => {
    const c = { shiftMs: 8 * 60 * MIN, offsetMs: 6 * 60 * MIN };
    const day = Date.parse('2026-03-01T00:00:00Z');
    expect(shiftIndex(c, day + 5 * 60 * MIN)).toBe(shiftIndex(c, day - 1)); // 05:00 belongs to the shift from 22:00
    expect(shiftIndex(c, day + 6 * 60 * MIN)).toBe(shiftIndex(c, day + 13 * 60 * MIN + 59 * MIN));
    expect(new Date(shiftEndsAt(c, day + 7 * 60 * MIN)).toISOString()).toBe('2026-03-01T14:00:00.000Z');
  });
});
