import { createHash, randomUUID } from 'node:crypto';

/**
 * Event ids double as `Nats-Msg-Id`, so they decide what JetStream dedupes. Ids are built from
 * what identifies the *decision*, not from when it was sent, so that retrying a publish (same
 * process, or after a reconnect) can never store it twice. They include the run id (one per
 * lease acquisition) because frame sequence numbers restart when another worker takes a stream
 * over: without it, a new worker's kill-switch for its frame 12 would be swallowed as a
 * duplicate of the old worker's frame 12.
 */
function deterministicEventId(kind: string, ...parts: ReadonlyArray<string | number>): string {
  const digest = createHash('sha256').update(parts.map(String).join('\u001f')).digest('hex').slice(0, 32);
  return `${kind}-${digest}`;
}

export interface KillSwitchIdParts {
  readonly streamId: string;
  /** `ScreeningAssignment.runId`. */
  readonly runId: string;
  readonly frameSeq: number;
  /** The list id and entry hash that matched; one frame may hit several entries. */
  readonly list: string;
  readonly hash: string;
}

export function killSwitchEventId(p: KillSwitchIdParts): string {
  return deterministicEventId('ks', p.streamId, p.runId, p.frameSeq, p.list, p.hash);
}

/** One screening run fails at most once per code, so retries of that report dedupe. */
export function failureEventId(streamId: string, runId: string, code: string): string {
  return deterministicEventId('fail', streamId, runId, code);
}

export function escalationEventId(streamId: string, runId: string, ...parts: ReadonlyArray<string | number>): string {
  return deterministicEventId('esc', streamId, runId, ...parts);
}

/** A bad inbound message is identified by where it is stored. */
export function deadLetterEventId(stream: string, seq: number): string {
  return `dl-${stream}-${seq}`;
}

/** A case is named by the run, the reason class and what opened it (a frame, or an unscreened code). */
export function caseIdFor(streamId: string, runId: string, reasonClass: string, openedBy: string | number): string {
  return deterministicEventId('case', streamId, runId, reasonClass, openedBy);
}

/** One kill-switch per confirming decision, whoever applies it and however often. */
export function reviewKillSwitchEventId(streamId: string, decisionId: string): string {
  return deterministicEventId('ks', streamId, 'review', decisionId);
}

/** Fail-closed: one kill-switch per run and cause. */
export function failClosedEventId(streamId: string, runId: string, code: string): string {
  return deterministicEventId('ks', streamId, runId, 'fail_closed', code);
}

/** A decision's ack and audit record, once per result (a duplicate's ack is its own event). */
export function reviewAckEventId(decisionId: string, result: string): string {
  return deterministicEventId('ack', decisionId, result);
}

export function reviewAuditEventId(decisionId: string, result: string): string {
  return deterministicEventId('audit', decisionId, result);
}

/** An enforcement audit record, from what it records: the kill (or the lift and its time), the action, the attempt. */
export function enforcementEventId(...parts: ReadonlyArray<string | number>): string {
  return deterministicEventId('enf', ...parts);
}

/**
 * A stream start or end the bridge announces. Unique per hook call (an ingest's client ids
 * restart with the ingest, so they cannot identify a publish); the bridge's own retries, outbox
 * replays included, reuse the id, which is what the dedupe window is for.
 */
export function streamEventId(kind: 'start' | 'end'): string {
  return `${kind}-${randomUUID()}`;
}
