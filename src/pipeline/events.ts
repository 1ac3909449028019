import { randomUUID } from 'node:crypto';
import type { EscalationEvent, FrameRef, KillSwitchEvent, ScreeningFailureEvent } from '../domain/decision.js';
import { errorCode } from '../domain/errors.js';
import type { StreamStart } from '../domain/stream.js';
import type { Decision } from '../policy/index.js';

export interface DecisionContext {
  readonly start: StreamStart;
  readonly workerId: string;
  readonly frame: FrameRef;
  /** Epoch ms the frame left ffmpeg, and when the decision was made. */
  readonly capturedAt: number;
  readonly decidedAt: number;
}

/**
 * Turns a policy decision into its wire event. The event id is fixed here, once, so every
 * publish retry carries the same Nats-Msg-Id and the server drops duplicates.
 */
export function toEvent(decision: Decision, ctx: DecisionContext): KillSwitchEvent | EscalationEvent {
  const common = {
    eventId: randomUUID(),
    streamId: ctx.start.streamId,
    frame: ctx.frame,
    decidedAt: new Date(ctx.decidedAt).toISOString(),
    latencyMs: ctx.decidedAt - ctx.capturedAt,
    workerId: ctx.workerId,
    ...(decision.shadow ? { shadow: true } : {}),
    ...(Object.keys(ctx.start.metadata).length ? { metadata: ctx.start.metadata } : {}),
  };
  if (decision.kind === 'killswitch') {
    return { type: 'killswitch', reason: 'hash_match', match: decision.match, ...common };
  }
  return { type: 'escalation', priority: decision.priority, reasons: decision.reasons, ...common };
}

export function failureEvent(
  start: StreamStart,
  workerId: string,
  error: unknown,
  attempts?: number,
): ScreeningFailureEvent {
  return {
    type: 'failure',
    eventId: randomUUID(),
    streamId: start.streamId,
    code: errorCode(error),
    message: error instanceof Error ? error.message : String(error),
    url: redactUrl(start.url),
    ...(attempts === undefined ? {} : { attempts }),
    at: new Date().toISOString(),
    workerId,
  };
}

/** Stream keys travel in RTMP paths and query strings; events and logs must not carry them. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    if (u.search) u.search = '?***';
    const parts = u.pathname.split('/');
    if (/^rtmps?:$/.test(u.protocol) && parts.length > 2) parts[parts.length - 1] = '***';
    u.pathname = parts.join('/');
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}
