import {
  SCHEMA_VERSION,
  type CaseEvent,
  type CaseModel,
  type EscalationEvent,
  type EscalationReason,
  type KillSwitchEvent,
} from '../../contracts/index.js';
import type { CaseRecord } from '../../domain/cases.js';
import { escalationEventId } from '../../domain/event-id.js';
import type { CaseEffect, KillSwitchEffect } from '../policy/index.js';

export interface EventContext {
  readonly streamId: string;
  /** The ingest run (one lease acquisition): part of event ids derived here. */
  readonly runId: string;
  readonly workerId: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Epoch ms the decided frame left ffmpeg (absent for decisions not made on a frame), and when the decision was made. */
  readonly capturedAt?: number;
  readonly decidedAt: number;
  readonly policyVersion: string;
}

/**
 * The wire events of the policy's effects. Ids come from what identifies the decision (the
 * policy derives kill-switch ids from stream, run, frame and list entry; a case event is its case
 * id and revision), so every publish retry, even one after a reconnect, carries the same
 * Nats-Msg-Id and the server stores the event once.
 */
export function killSwitchEvent(e: KillSwitchEffect, ctx: EventContext): KillSwitchEvent {
  const latency = e.reason === 'hash_match' && ctx.capturedAt !== undefined ? { latencyMs: ctx.decidedAt - ctx.capturedAt } : {};
  return {
    schemaVersion: SCHEMA_VERSION,
    type: 'killswitch',
    eventId: e.eventId,
    reason: e.reason,
    ...(e.match ? { match: e.match } : {}),
    ...(e.review ? { review: e.review } : {}),
    ...(e.unscreened ? { unscreened: e.unscreened } : {}),
    streamId: ctx.streamId,
    ...(e.frame ? { frame: e.frame } : {}),
    decidedAt: new Date(ctx.decidedAt).toISOString(),
    ...latency,
    workerId: ctx.workerId,
    ...(e.shadow ? { shadow: true } : {}),
    ...(Object.keys(ctx.metadata).length ? { metadata: ctx.metadata } : {}),
    caseId: e.caseId,
    policy: { version: ctx.policyVersion, rule: e.rule },
  };
}

export function caseEvent(e: CaseEffect, models?: readonly CaseModel[]): CaseEvent {
  const body = { ...caseBody(e.record), ...(models?.length ? { models } : {}) };
  const eventId = `${e.record.caseId}-r${e.record.revision}`;
  if (e.type === 'case_opened') return { schemaVersion: SCHEMA_VERSION, type: 'case_opened', eventId, ...body };
  if (e.type === 'case_updated') {
    return { schemaVersion: SCHEMA_VERSION, type: 'case_updated', eventId, ...body, change: [...(e.change ?? ['scores'])] };
  }
  return { schemaVersion: SCHEMA_VERSION, type: 'case_closed', eventId, ...body, closure: e.record.closure! };
}

/**
 * A page: the `screening.escalation.<streamId>` event that says "a human must look", sent when a
 * case opens or its priority rises (never for score updates), with the case id. Pagers and
 * platforms that read escalations keep working; the case events carry the full story. Cases
 * without a frame (unscreened) page through their case event and the failure event only.
 */
export function pageEvent(e: CaseEffect, ctx: EventContext): EscalationEvent | undefined {
  const r = e.record;
  if (!e.page || !r.frame) return undefined;
  const reasons = r.reasons.flatMap((x): EscalationReason[] => {
    if (x.kind === 'classifier') return [{ kind: 'classifier', signal: x.signal, score: x.score, threshold: x.threshold }];
    if (x.kind === 'unscreened') return [];
    return [x];
  });
  if (reasons.length === 0) return undefined;
  const capturedAt = Date.parse(r.frame.capturedAt);
  return {
    schemaVersion: SCHEMA_VERSION,
    type: 'escalation',
    eventId: escalationEventId(ctx.streamId, ctx.runId, r.caseId, r.revision),
    priority: r.priority,
    reasons,
    streamId: ctx.streamId,
    frame: r.frame,
    decidedAt: new Date(ctx.decidedAt).toISOString(),
    latencyMs: Math.max(0, ctx.decidedAt - capturedAt),
    workerId: ctx.workerId,
    ...(r.shadow ? { shadow: true } : {}),
    ...(Object.keys(ctx.metadata).length ? { metadata: ctx.metadata } : {}),
    caseId: r.caseId,
    policy: r.policy,
  };
}

function caseBody(r: CaseRecord) {
  return {
    caseId: r.caseId,
    revision: r.revision,
    streamId: r.streamId,
    reasonClass: r.reasonClass,
    priority: r.priority,
    reasons: r.reasons,
    policy: r.policy,
    openedAt: r.openedAt,
    updatedAt: r.updatedAt,
    ...(r.frame ? { frame: r.frame } : {}),
    storyboard: r.storyboard,
    ...(r.pdqHash ? { pdqHash: r.pdqHash } : {}),
    ...(r.killSwitch ? { killSwitch: r.killSwitch } : {}),
    ...(r.metadata ? { metadata: r.metadata } : {}),
    workerId: r.workerId,
    ...(r.shadow ? { shadow: true } : {}),
  };
}
