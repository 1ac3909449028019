import type { CaseState, EscalationPriority, ReviewAck, ReviewDecision } from '../../contracts/index.js';
import type { PolicyOptions } from '../../config/index.js';
import type { AppliedDecision, CaseRecord } from '../../domain/cases.js';
import { reviewKillSwitchEventId } from '../../domain/event-id.js';
import { caseById, closeCase, closed, revise, updated, withCase } from './cases.js';
import { maxPriority, rank } from './smoothing.js';
import type { Effect, PolicyContext, PolicyResult, PolicyState } from './types.js';

/** Decisions remembered per stream for idempotency; far more than one stream's reviews. */
export const MAX_APPLIED_DECISIONS = 200;

export interface ReviewOutcome extends PolicyResult {
  readonly ack: {
    readonly result: ReviewAck['result'];
    readonly detail?: string;
    readonly caseState: CaseState;
  };
  /** add-to-list: the list change the applier makes (I/O) before it acknowledges. */
  readonly addToList?: NonNullable<ReviewDecision['list']>;
}

const ONE_UP: Record<EscalationPriority, EscalationPriority> = { normal: 'high', high: 'critical', critical: 'critical' };

/**
 * A reviewer's decision on a case, applied once (by decisionId):
 * - confirm: kill-switch (reason review_confirmed) and the case closes confirmed; a case that had
 *   already closed (the stream ended) still gets the kill-switch: the platform acts on the account;
 * - dismiss: the case closes dismissed and its reason class is suppressed for the stream for
 *   dismissSuppressMs, at or below the case's priority;
 * - escalate: the priority rises (to the one asked for, else one step), which re-pages;
 * - add-to-list: the hash goes on a list (the applier does it); the case is unchanged.
 * Dismiss and escalate on a closed case, and any decision on a case this stream does not know,
 * are rejected, with the reason in the ack.
 */
export function applyReview(state: PolicyState, d: ReviewDecision, ctx: PolicyContext, o: PolicyOptions, now: number): ReviewOutcome {
  const prior = state.applied[d.decisionId];
  const c = caseById(state, d.caseId);
  if (prior) {
    const caseState = stateOf(c, state, prior);
    return { state, effects: [], ack: { result: 'duplicate', ...(prior.detail ? { detail: prior.detail } : {}), caseState } };
  }
  if (!c || c.streamId !== d.streamId) return remember(state, d, now, [], 'rejected', undefined, 'case_unknown');

  const at = new Date(now).toISOString();
  switch (d.decision) {
    case 'confirm': {
      const eventId = reviewKillSwitchEventId(d.streamId, d.decisionId);
      const closure = { cause: 'review' as const, at, decisionId: d.decisionId, reviewer: d.reviewer, resolution: 'confirmed' as const };
      const patch = {
        killSwitch: { eventId, at, reason: 'review_confirmed' as const },
        policy: { version: o.version, rule: 'review_confirmed' },
      };
      const record = c.state === 'open' ? closeCase({ ...c, ...patch }, closure, ctx, now) : revise(c, { ...patch, closure }, ctx, now);
      const effects: Effect[] = [
        {
          kind: 'killswitch',
          eventId,
          reason: 'review_confirmed',
          rule: 'review_confirmed',
          caseId: c.caseId,
          // A person decided: never a shadow action, whatever mode opened the case.
          shadow: false,
          review: { decisionId: d.decisionId, reviewer: d.reviewer },
          ...(c.frame ? { frame: c.frame } : {}),
        },
        closed(record),
      ];
      const next = { ...withCase(state, record), lastKillSwitchAt: now };
      return remember(next, d, now, effects, 'applied', record, undefined, eventId);
    }
    case 'dismiss': {
      if (c.state !== 'open') return remember(state, d, now, [], 'rejected', c, 'case_closed');
      const record = closeCase(
        c,
        { cause: 'review', at, decisionId: d.decisionId, reviewer: d.reviewer, resolution: 'dismissed' },
        ctx,
        now,
      );
      const prev = state.suppressed[c.reasonClass];
      const suppression = {
        until: Math.max(now + o.dismissSuppressMs, prev?.until ?? 0),
        priority: prev ? maxPriority(prev.priority, c.priority) : c.priority,
      };
      const { [c.reasonClass]: _dropped, ...windows } = state.windows;
      const next: PolicyState = { ...withCase(state, record), suppressed: { ...state.suppressed, [c.reasonClass]: suppression }, windows };
      return remember(next, d, now, [closed(record)], 'applied', record);
    }
    case 'escalate': {
      if (c.state !== 'open') return remember(state, d, now, [], 'rejected', c, 'case_closed');
      const target = d.priority ?? ONE_UP[c.priority];
      if (rank(target) <= rank(c.priority)) return remember(state, d, now, [], 'applied', c);
      const record = revise(c, { priority: target, policy: { version: o.version, rule: 'review_escalated' } }, ctx, now);
      return remember(withCase(state, record), d, now, [updated(record, ['review', 'priority_raised'])], 'applied', record);
    }
    case 'add-to-list': {
      const outcome = remember(state, d, now, [], 'applied', c);
      return { ...outcome, addToList: d.list! };
    }
  }
}

/** The applier got the list version from the list store: recorded with the decision for duplicate acks. */
export function recordListVersion(state: PolicyState, decisionId: string, listVersion: string): PolicyState {
  const prior = state.applied[decisionId];
  if (!prior) return state;
  return { ...state, applied: { ...state.applied, [decisionId]: { ...prior, listVersion } } };
}

/** A decision refused outside the policy (add-to-list's list write refused): remembered, so a redelivery gets the same answer. */
export function rejectDecision(state: PolicyState, decisionId: string, detail: string, now: number): PolicyState {
  const applied = boundApplied({ ...state.applied, [decisionId]: { result: 'rejected', detail, at: now } });
  return { ...state, applied };
}

function remember(
  state: PolicyState,
  d: ReviewDecision,
  now: number,
  effects: readonly Effect[],
  result: ReviewAck['result'],
  record: CaseRecord | undefined,
  detail?: string,
  killSwitchEventId?: string,
): ReviewOutcome {
  const entry: AppliedDecision = { result, at: now, ...(detail ? { detail } : {}), ...(killSwitchEventId ? { killSwitchEventId } : {}) };
  const applied = boundApplied({ ...state.applied, [d.decisionId]: entry });
  const next = { ...state, applied };
  return { state: next, effects, ack: { result, ...(detail ? { detail } : {}), caseState: stateOf(record, next, entry) } };
}

function boundApplied(applied: Record<string, AppliedDecision>): Record<string, AppliedDecision> {
  const ids = Object.keys(applied);
  if (ids.length <= MAX_APPLIED_DECISIONS) return applied;
  const keep = ids.sort((a, b) => applied[a]!.at - applied[b]!.at).slice(ids.length - MAX_APPLIED_DECISIONS);
  return Object.fromEntries(keep.map((id) => [id, applied[id]!]));
}

/** What an ack reports about the case after the decision. */
export function stateOf(record: CaseRecord | undefined, state: PolicyState, entry?: AppliedDecision): CaseState {
  if (!record) return { state: 'unknown' };
  const s = state.suppressed[record.reasonClass];
  return {
    state: record.state,
    priority: record.priority,
    revision: record.revision,
    ...(s ? { suppressedUntil: new Date(s.until).toISOString() } : {}),
    ...(entry?.killSwitchEventId ? { killSwitchEventId: entry.killSwitchEventId } : {}),
    ...(entry?.listVersion ? { listVersion: entry.listVersion } : {}),
  };
}
