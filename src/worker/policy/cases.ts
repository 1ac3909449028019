import type { CaseClosure, CaseReason, EscalationPriority, FrameRef, ScoreSample } from '../../contracts/index.js';
import { MAX_SCORE_SAMPLES } from '../../contracts/index.js';
import type { PolicyOptions } from '../../config/index.js';
import type { CaseChange, CaseRecord } from '../../domain/cases.js';
import { caseIdFor } from '../../domain/event-id.js';
import { rank } from './smoothing.js';
import type { CaseEffect, PolicyContext, PolicyState } from './types.js';

/** Closed cases kept per stream, so a late decision still finds its case; open ones are all kept. */
export const MAX_CLOSED_CASES = 20;

const iso = (ms: number): string => new Date(ms).toISOString();

export function openCaseOf(state: PolicyState, reasonClass: string): CaseRecord | undefined {
  return state.cases.find((c) => c.state === 'open' && c.reasonClass === reasonClass);
}

export function caseById(state: PolicyState, caseId: string): CaseRecord | undefined {
  return state.cases.find((c) => c.caseId === caseId);
}

/** A dismissal keeps the class quiet until it expires, unless the priority now is higher than the dismissed one. */
export function isSuppressed(state: PolicyState, reasonClass: string, priority: EscalationPriority, now: number): boolean {
  const s = state.suppressed[reasonClass];
  return s !== undefined && now < s.until && rank(priority) <= rank(s.priority);
}

export interface NewCase {
  readonly reasonClass: string;
  readonly priority: EscalationPriority;
  readonly reasons: readonly CaseReason[];
  readonly rule: string;
  readonly frame?: FrameRef;
  /** What makes the id unique within the run: the frame sequence, or the unscreened code. */
  readonly idPart: string | number;
  readonly killSwitch?: CaseRecord['killSwitch'];
}

export function newCase(n: NewCase, ctx: PolicyContext, options: PolicyOptions, now: number): CaseRecord {
  return {
    caseId: caseIdFor(ctx.streamId, ctx.runId, n.reasonClass, n.idPart),
    streamId: ctx.streamId,
    reasonClass: n.reasonClass,
    revision: 1,
    state: 'open',
    priority: n.priority,
    reasons: n.reasons,
    policy: { version: options.version, rule: n.rule },
    openedAt: iso(now),
    updatedAt: iso(now),
    ...(n.frame ? { frame: n.frame, ...(n.frame.hash ? { pdqHash: n.frame.hash } : {}) } : {}),
    storyboard: [],
    ...(n.killSwitch ? { killSwitch: n.killSwitch } : {}),
    ...(Object.keys(ctx.metadata).length ? { metadata: ctx.metadata } : {}),
    workerId: ctx.workerId,
    ...(options.mode === 'shadow' ? { shadow: true } : {}),
    publishedAt: now,
  };
}

/** The next revision of a case, published now. */
export function revise(record: CaseRecord, patch: Partial<CaseRecord>, ctx: Pick<PolicyContext, 'workerId'>, now: number): CaseRecord {
  return { ...record, ...patch, revision: record.revision + 1, updatedAt: iso(now), publishedAt: now, workerId: ctx.workerId };
}

export function closeCase(record: CaseRecord, closure: CaseClosure, ctx: Pick<PolicyContext, 'workerId'>, now: number): CaseRecord {
  return revise(record, { state: 'closed', closure }, ctx, now);
}

/** Replaces the case with the same id (or adds it), keeping every open case and the latest closed ones. */
export function withCase(state: PolicyState, record: CaseRecord): PolicyState {
  const others = state.cases.filter((c) => c.caseId !== record.caseId);
  const all = [...others, record];
  const closed = all.filter((c) => c.state === 'closed');
  const drop = new Set(closed.slice(0, Math.max(0, closed.length - MAX_CLOSED_CASES)).map((c) => c.caseId));
  return { ...state, cases: drop.size ? all.filter((c) => !drop.has(c.caseId)) : all };
}

export function opened(record: CaseRecord, evidence?: CaseEffect['evidence']): CaseEffect {
  return { kind: 'case', type: 'case_opened', record, page: true, ...(evidence ? { evidence } : {}) };
}

export function updated(record: CaseRecord, change: readonly CaseChange[], evidence?: CaseEffect['evidence']): CaseEffect {
  return {
    kind: 'case',
    type: 'case_updated',
    record,
    change,
    page: change.includes('priority_raised'),
    ...(evidence ? { evidence } : {}),
  };
}

export function closed(record: CaseRecord): CaseEffect {
  return { kind: 'case', type: 'case_closed', record, page: false };
}

/** The score history a classifier reason carries, newest last, at most MAX_SCORE_SAMPLES. */
export function appendSample(recent: readonly ScoreSample[] | undefined, sample: ScoreSample): ScoreSample[] {
  const r = recent ?? [];
  return [...r.slice(Math.max(0, r.length - MAX_SCORE_SAMPLES + 1)), sample];
}
