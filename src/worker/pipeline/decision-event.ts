import { SCHEMA_VERSION, type EscalationEvent, type FrameRef, type KillSwitchEvent } from '../../contracts/index.js';
import { escalationEventId, killSwitchEventId } from '../../domain/event-id.js';
import type { StreamStart } from '../../domain/stream.js';
import type { Decision } from '../policy/index.js';

export interface DecisionContext {
  readonly start: StreamStart;
  /** The ingest run (one lease acquisition): part of every event id. */
  readonly runId: string;
  readonly workerId: string;
  readonly frame: FrameRef;
  /** Epoch ms the frame left ffmpeg, and when the decision was made. */
  readonly capturedAt: number;
  readonly decidedAt: number;
}

/**
 * Turns a policy decision into its wire event. Event ids are derived from what identifies the
 * decision (stream, run, frame, list entry), so every publish retry, even one after a reconnect,
 * carries the same Nats-Msg-Id and the server stores the event once.
 */
export function toEvent(decision: Decision, ctx: DecisionContext): KillSwitchEvent | EscalationEvent {
  const common = {
    schemaVersion: SCHEMA_VERSION,
    streamId: ctx.start.streamId,
    frame: ctx.frame,
    decidedAt: new Date(ctx.decidedAt).toISOString(),
    latencyMs: ctx.decidedAt - ctx.capturedAt,
    workerId: ctx.workerId,
    ...(decision.shadow ? { shadow: true } : {}),
    ...(Object.keys(ctx.start.metadata).length ? { metadata: ctx.start.metadata } : {}),
  };
  if (decision.kind === 'killswitch') {
    const { streamId } = ctx.start;
    const { list, hash } = decision.match;
    const eventId = killSwitchEventId({ streamId, runId: ctx.runId, frameSeq: ctx.frame.seq, list, hash });
    return { type: 'killswitch', eventId, reason: 'hash_match', match: decision.match, ...common };
  }
  const eventId = escalationEventId(ctx.start.streamId, ctx.runId, ctx.frame.seq, decision.priority);
  return { type: 'escalation', eventId, priority: decision.priority, reasons: decision.reasons, ...common };
}
