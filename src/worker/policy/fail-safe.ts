import type { PolicyOptions } from '../../config/index.js';
import type { CaseRecord } from '../../domain/cases.js';
import { failClosedEventId } from '../../domain/event-id.js';
import { isSuppressed, newCase, openCaseOf, opened, revise, updated, withCase } from './cases.js';
import { within } from './decide.js';
import { UNSCREENED_CLASS } from './rules.js';
import type { Effect, PolicyContext, PolicyResult, PolicyState } from './types.js';

/** Why a stream is not (fully) screened, as the pipeline saw it. */
export interface Unscreenable {
  /** Stable code: source_failed, source_invalid, models_not_ready, classifiers_shed, classifiers_failed, ... */
  readonly code: string;
  /** Already redacted (no stream keys, no credentials). */
  readonly message: string;
}

/**
 * Fail-safe: an unscreened live stream is itself a risk, so it opens an `unscreened` case
 * (rule fail_safe, policy.unscreenedPriority) that a reviewer sees; with policy.failClosed the
 * stream is also stopped (kill-switch reason fail_closed, once per kill-switch cooldown). One
 * case per stream: a second cause is added to the open case's reasons. A dismissal keeps it
 * quiet like any other class.
 */
export function unscreened(state: PolicyState, why: Unscreenable, ctx: PolicyContext, o: PolicyOptions, now: number): PolicyResult {
  const reason = { kind: 'unscreened' as const, code: why.code, message: why.message.slice(0, 2000) };
  const open = openCaseOf(state, UNSCREENED_CLASS);
  if (open) {
    if (open.reasons.some((r) => r.kind === 'unscreened' && r.code === why.code)) return { state, effects: [] };
    const record = revise(open, { reasons: [...open.reasons, reason] }, ctx, now);
    return { state: withCase(state, record), effects: [updated(record, ['scores'])] };
  }
  if (isSuppressed(state, UNSCREENED_CLASS, o.unscreenedPriority, now)) return { state, effects: [] };

  const effects: Effect[] = [];
  let next = state;
  let killSwitch: CaseRecord['killSwitch'];
  const kill = o.failClosed && !within(state.lastKillSwitchAt, now, o.killSwitchCooldownMs);
  const eventId = failClosedEventId(ctx.streamId, ctx.runId, why.code);
  if (kill) {
    killSwitch = { eventId, at: new Date(now).toISOString(), reason: 'fail_closed' };
    next = { ...next, lastKillSwitchAt: now };
  }
  const record = newCase(
    { reasonClass: UNSCREENED_CLASS, priority: o.unscreenedPriority, reasons: [reason], rule: 'fail_safe', idPart: why.code, killSwitch },
    ctx,
    o,
    now,
  );
  if (kill) {
    effects.push({
      kind: 'killswitch',
      eventId,
      reason: 'fail_closed',
      rule: 'fail_closed',
      caseId: record.caseId,
      shadow: o.mode === 'shadow',
      unscreened: { code: why.code, message: reason.message },
    });
  }
  effects.push(opened(record));
  return { state: withCase(next, record), effects };
}

/**
 * A frame the classifiers did not see (shed over budget, failed, models not ready). Once
 * policy.unclassifiedFramesToReport frames in a row went unclassified, the stream is unscreened by
 * its classifiers (hash matching goes on) and the fail-safe applies; the count restarts with the
 * next classified frame (decide()).
 */
export function unclassified(state: PolicyState, why: Unscreenable, ctx: PolicyContext, o: PolicyOptions, now: number): PolicyResult {
  const count = state.unclassified + 1;
  const next: PolicyState = { ...state, unclassified: count };
  if (count !== o.unclassifiedFramesToReport) return { state: next, effects: [] };
  return unscreened(next, why, ctx, o, now);
}
