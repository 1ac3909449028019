import type { StreamCases } from '../../domain/cases.js';
import { MAX_CLOSED_CASES } from './cases.js';

/**
 * Two versions of a stream's case state, e.g. this worker's and one a decision for the stream
 * wrote to KV meanwhile (a compare-and-swap conflict): each case at its highest revision (the
 * rule every consumer of case events follows), every suppression at its later expiry, every
 * applied decision kept. Commutative, so it does not matter which side is "ours".
 */
export function mergeStreamCases<T extends StreamCases>(ours: T, theirs: StreamCases): T {
  const byId = new Map(ours.cases.map((c) => [c.caseId, c]));
  for (const c of theirs.cases) {
    const mine = byId.get(c.caseId);
    if (!mine || c.revision > mine.revision) byId.set(c.caseId, c);
  }
  const all = [...byId.values()].sort((a, b) => (a.openedAt < b.openedAt ? -1 : a.openedAt > b.openedAt ? 1 : 0));
  const closed = all.filter((c) => c.state === 'closed');
  const drop = new Set(closed.slice(0, Math.max(0, closed.length - MAX_CLOSED_CASES)).map((c) => c.caseId));

  const suppressed = { ...ours.suppressed };
  for (const [cls, s] of Object.entries(theirs.suppressed)) {
    const mine = suppressed[cls];
    if (!mine || s.until > mine.until) suppressed[cls] = s;
  }
  return {
    ...ours,
    cases: all.filter((c) => !drop.has(c.caseId)),
    suppressed,
    applied: { ...theirs.applied, ...ours.applied },
  };
}
