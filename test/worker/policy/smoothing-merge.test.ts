import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CaseRecord, StreamCases } from '../../../src/domain/cases.js';
import { mergeStreamCases } from '../../../src/worker/policy/index.js';
import { LEVEL, pushLevel, smoothedPriority } from '../../../src/worker/policy/smoothing.js';

describe('smoothing window', () => {
  it('keeps the last n levels', () => {
    let w: number[] | undefined;
    for (const l of [1, 2, 3, 0, 1, 2]) w = pushLevel(w, l, 4);
    expect(w).toEqual([3, 0, 1, 2]);
  });

  it('gives the highest priority that itself reached k frames (property, against a direct count)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 12 }), fc.integer({ min: 1, max: 12 }), (window, k) => {
        const got = smoothedPriority(window, k);
        const reached = (['critical', 'high', 'normal'] as const).find((p) => window.filter((l) => l >= LEVEL[p]).length >= k);
        expect(got).toBe(reached);
      }),
    );
  });
});

const record = (caseId: string, revision: number, state: 'open' | 'closed' = 'open'): CaseRecord => ({
  caseId,
  streamId: 's1',
  reasonClass: `c-${caseId}`,
  revision,
  state,
  priority: 'normal',
  reasons: [{ kind: 'unscreened', code: 'x', message: '' }],
  policy: { version: 'v', rule: 'r' },
  openedAt: `2026-01-01T00:00:0${caseId.length % 10}Z`,
  updatedAt: '2026-01-01T00:00:00Z',
  storyboard: [],
  workerId: 'w',
  publishedAt: 0,
});

describe('mergeStreamCases', () => {
  it('keeps each case at its highest revision, the later suppression and every applied decision, whichever side is ours', () => {
    const arb = fc.record({
      cases: fc
        .uniqueArray(fc.record({ id: fc.constantFrom('a', 'bb', 'ccc'), rev: fc.integer({ min: 1, max: 5 }) }), { selector: (c) => c.id })
        .map((cs) => cs.map((c) => record(c.id, c.rev))),
      until: fc.integer({ min: 0, max: 100 }),
      decision: fc.constantFrom('d1', 'd2'),
    });
    fc.assert(
      fc.property(arb, arb, (x, y) => {
        const mk = (v: typeof x): StreamCases => ({
          cases: v.cases,
          suppressed: { cls: { until: v.until, priority: 'normal' } },
          applied: { [v.decision]: { result: 'applied', at: 1 } },
        });
        const a = mergeStreamCases(mk(x), mk(y));
        const b = mergeStreamCases(mk(y), mk(x));
        const revs = (s: StreamCases) => Object.fromEntries(s.cases.map((c) => [c.caseId, c.revision]));
        expect(revs(a)).toEqual(revs(b));
        for (const c of [...x.cases, ...y.cases]) expect(revs(a)[c.caseId]).toBeGreaterThanOrEqual(c.revision);
        expect(a.suppressed.cls!.until).toBe(Math.max(x.until, y.until));
        expect(Object.keys(a.applied).sort()).toEqual([...new Set([x.decision, y.decision])].sort());
      }),
    );
  });
});
