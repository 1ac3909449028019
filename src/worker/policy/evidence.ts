import type { EvidenceFrame } from '../../contracts/index.js';
import { caseById, closed, revise, updated, withCase } from './cases.js';
import type { PolicyContext, PolicyResult, PolicyState } from './types.js';

/** Longest storyboard a case event carries (the contract's bound). */
export const MAX_STORYBOARD = 32;

/**
 * Stored evidence joins its case (a follow-up event: a kill-switch is never held back for it).
 * Frames are merged by sequence number with what the case already has, oldest first, the newest
 * MAX_STORYBOARD kept, so a case that rose in priority shows both moments. A case that closed
 * meanwhile gets it too, in a case_closed event of the next revision.
 */
export function attachEvidence(
  state: PolicyState,
  caseId: string,
  frames: readonly EvidenceFrame[],
  ctx: Pick<PolicyContext, 'workerId'>,
  now: number,
): PolicyResult {
  const c = caseById(state, caseId);
  if (!c || frames.length === 0) return { state, effects: [] };
  const bySeq = new Map(c.storyboard.map((f) => [f.seq, f]));
  for (const f of frames) {
    const had = bySeq.get(f.seq);
    // A frame decisive for either capture stays marked decisive.
    bySeq.set(f.seq, had?.decisive && !f.decisive ? { ...f, decisive: true } : f);
  }
  const storyboard = [...bySeq.values()].sort((a, b) => a.seq - b.seq).slice(-MAX_STORYBOARD);
  const record = revise(c, { storyboard }, ctx, now);
  return { state: withCase(state, record), effects: [record.state === 'open' ? updated(record, ['evidence']) : closed(record)] };
}
