import type { CaseReason, EscalationPriority, FrameRef, HashMatch } from '../../contracts/index.js';
import type { PolicyOptions } from '../../config/index.js';
import type { CaseChange, CaseRecord } from '../../domain/cases.js';
import { killSwitchEventId } from '../../domain/event-id.js';
import { appendSample, newCase, openCaseOf, opened, isSuppressed, revise, updated, withCase } from './cases.js';
import { EXPLICIT_SIGNAL, HASH_MATCH_CLASS, readSignals, type SignalReading } from './rules.js';
import { LEVEL, maxPriority, pushLevel, rank, smoothedPriority } from './smoothing.js';
import type { Effect, FrameAnalysis, PolicyContext, PolicyResult, PolicyState } from './types.js';

const NONE: readonly Effect[] = [];
/** Hash reasons a case carries at most (distinct list entries, latest kept). */
const MAX_HASH_REASONS = 10;

/**
 * The screening policy for one frame: pure, so every rule is unit-tested and a shadow policy can
 * run beside the live one on the same inputs. It keeps one case per stream and reason class:
 *
 * - A match on a `kill` list (confirmed material) stops the stream (the closest match is
 *   reported) at most once per kill-switch cooldown, and opens or raises the stream's hash_match
 *   case to critical with the kill-switch on it. Never smoothed, never suppressed by a dismissal.
 * - A match on an `escalate` list opens (or updates) the hash_match case at high priority.
 * - Classifier signals (rules.ts) count only once they were present on k of the last n
 *   classified frames (smoothing.ts); they open a case per signal class, whose priority rises
 *   (and re-pages) when a higher one reaches k frames, and never falls.
 * - A dismissed class stays quiet for dismissSuppressMs unless a higher priority arrives.
 * - An open case is re-published with its latest scores at most every caseUpdateIntervalMs.
 */
export function decide(state: PolicyState, frame: FrameAnalysis, ctx: PolicyContext, options: PolicyOptions, now: number): PolicyResult {
  if (frame.matches.length === 0 && frame.signals === undefined) return { state, effects: NONE };
  const effects: Effect[] = [];
  let next = state;
  if (frame.matches.length > 0) next = hashRules(next, frame, ctx, options, now, effects);
  if (frame.signals !== undefined) next = classifierRules(next, frame, ctx, options, now, effects);
  return { state: next, effects };
}

function hashRules(
  state: PolicyState,
  frame: FrameAnalysis,
  ctx: PolicyContext,
  o: PolicyOptions,
  now: number,
  out: Effect[],
): PolicyState {
  const kill = closest(frame.matches.filter((m) => (m.action ?? 'kill') === 'kill'));
  const escalate = frame.matches.filter((m) => m.action === 'escalate');
  const fires = kill !== undefined && !within(state.lastKillSwitchAt, now, o.killSwitchCooldownMs);
  // A kill-list hit inside the cooldown adds nothing: the stream is already being stopped.
  if (!fires && escalate.length === 0) return state;

  const ref = frame.ref();
  const reasons: CaseReason[] = [...(fires ? [kill] : []), ...escalate].map((match) => ({ kind: 'hash_match', match }));
  const priority: EscalationPriority = fires ? 'critical' : 'high';
  const rule = fires ? 'kill_list_match' : 'escalate_list_match';
  const open = openCaseOf(state, HASH_MATCH_CLASS);
  let next = state;

  let killSwitch: CaseRecord['killSwitch'];
  let killEventId: string | undefined;
  if (fires) {
    killEventId = killSwitchEventId({ streamId: ctx.streamId, runId: ctx.runId, frameSeq: frame.seq, list: kill.list, hash: kill.hash });
    killSwitch = { eventId: killEventId, at: new Date(now).toISOString(), reason: 'hash_match' };
    next = { ...next, lastKillSwitchAt: now };
  }

  let record: CaseRecord;
  let effect: Effect;
  if (open) {
    const change: CaseChange[] = [];
    if (rank(priority) > rank(open.priority)) change.push('priority_raised');
    if (killSwitch) change.push('kill_switch');
    if (change.length === 0 && now - open.publishedAt < o.caseUpdateIntervalMs) return next;
    if (change.length === 0) change.push('scores');
    const decisive = change.length > 0 && change[0] !== 'scores';
    record = revise(
      open,
      {
        priority: maxPriority(open.priority, priority),
        reasons: mergeHashReasons(open.reasons, reasons),
        ...(decisive ? { policy: { version: o.version, rule }, frame: ref, ...(ref.hash ? { pdqHash: ref.hash } : {}) } : {}),
        ...(killSwitch ? { killSwitch } : {}),
      },
      ctx,
      now,
    );
    effect = updated(record, change, decisive ? { preserveOriginal: true } : undefined);
  } else {
    if (!fires && isSuppressed(state, HASH_MATCH_CLASS, priority, now)) return next;
    record = newCase({ reasonClass: HASH_MATCH_CLASS, priority, reasons, rule, frame: ref, idPart: frame.seq, killSwitch }, ctx, o, now);
    effect = opened(record, { preserveOriginal: true });
  }
  if (fires) {
    out.push({
      kind: 'killswitch',
      eventId: killEventId!,
      reason: 'hash_match',
      rule,
      caseId: record.caseId,
      shadow: o.mode === 'shadow',
      match: kill,
      frame: ref,
    });
  }
  out.push(effect);
  return withCase(next, record);
}

function classifierRules(
  state: PolicyState,
  frame: FrameAnalysis,
  ctx: PolicyContext,
  o: PolicyOptions,
  now: number,
  out: Effect[],
): PolicyState {
  const readings = readSignals(frame.signals!, o);
  const windows: Record<string, readonly number[]> = { ...state.windows };
  let next: PolicyState = state.unclassified === 0 ? state : { ...state, unclassified: 0 };
  let ref: FrameRef | undefined;
  const frameRef = () => (ref ??= frame.ref());

  for (const r of readings) {
    const window = pushLevel(windows[r.reasonClass], LEVEL[r.level], o.smoothing.n);
    windows[r.reasonClass] = window;
    const priority = smoothedPriority(window, o.smoothing.k);
    const open = openCaseOf(next, r.reasonClass);
    const sample = { seq: frame.seq, at: new Date(frame.capturedAt).toISOString(), score: r.score };

    if (open) {
      const reasons = withReading(open.reasons, r, sample, priority, o.challengeAge);
      const raised = priority !== undefined && rank(priority) > rank(open.priority);
      if (raised) {
        const record = revise(
          open,
          {
            priority,
            reasons,
            policy: { version: o.version, rule: ruleFor(r.signal, priority) },
            frame: frameRef(),
            ...hashOf(frameRef()),
          },
          ctx,
          now,
        );
        out.push(updated(record, ['priority_raised', 'scores'], { preserveOriginal: false }));
        next = withCase(next, record);
      } else if (now - open.publishedAt >= o.caseUpdateIntervalMs) {
        const decisive = r.level !== 'none' ? { frame: frameRef(), ...hashOf(frameRef()) } : {};
        const record = revise(open, { reasons, ...decisive }, ctx, now);
        out.push(updated(record, ['scores']));
        next = withCase(next, record);
      } else {
        // Between updates the scores are kept, not published: the next update carries them.
        next = withCase(next, { ...open, reasons });
      }
      continue;
    }
    if (priority === undefined || isSuppressed(next, r.reasonClass, priority, now)) continue;
    const record = newCase(
      {
        reasonClass: r.reasonClass,
        priority,
        reasons: withReading([], r, sample, priority, o.challengeAge),
        rule: ruleFor(r.signal, priority),
        frame: frameRef(),
        idPart: frame.seq,
      },
      ctx,
      o,
      now,
    );
    out.push(opened(record, { preserveOriginal: false }));
    next = withCase(next, record);
  }
  return { ...next, windows };
}

/**
 * The classifier reason with this frame's score and history, and the possible-minor reason once
 * the case is critical (a possible minor on k frames is what makes a classifier case critical).
 */
function withReading(
  reasons: readonly CaseReason[],
  r: SignalReading,
  sample: { seq: number; at: string; score: number },
  priority: EscalationPriority | undefined,
  challengeAge: number,
): CaseReason[] {
  const prev = reasons.find((x) => x.kind === 'classifier');
  const prevMinor = reasons.find((x) => x.kind === 'possible_minor');
  const out: CaseReason[] = [
    {
      kind: 'classifier',
      signal: r.signal,
      score: r.score,
      peak: Math.max(r.score, prev?.peak ?? 0),
      // The threshold that made it count: the lower one once a possible minor was seen.
      threshold: r.level !== 'none' || !prev ? r.threshold : prev.threshold,
      recent: appendSample(prev?.recent, sample),
    },
  ];
  if (prevMinor || priority === 'critical') {
    const ages = [r.minAge, prevMinor?.minAge].filter((a): a is number => a !== undefined);
    out.push({ kind: 'possible_minor', ...(ages.length ? { minAge: Math.min(...ages) } : {}), challengeAge });
  }
  return out;
}

function ruleFor(signal: string, priority: EscalationPriority): string {
  const minor = priority === 'critical';
  if (signal === EXPLICIT_SIGNAL) return minor ? 'explicit_with_possible_minor' : 'explicit';
  return minor ? 'custom_signal_with_possible_minor' : 'custom_signal';
}

function hashOf(ref: FrameRef): { pdqHash?: string } {
  return ref.hash ? { pdqHash: ref.hash } : {};
}

function mergeHashReasons(old: readonly CaseReason[], add: readonly CaseReason[]): CaseReason[] {
  const key = (r: CaseReason) => (r.kind === 'hash_match' ? `${r.match.list}\u001f${r.match.hash}` : r.kind);
  const fresh = new Set(add.map(key));
  const merged = [...old.filter((r) => !fresh.has(key(r))), ...add];
  return merged.slice(Math.max(0, merged.length - MAX_HASH_REASONS));
}

function closest(matches: readonly HashMatch[]): HashMatch | undefined {
  let best: HashMatch | undefined;
  for (const m of matches) if (!best || m.distance < best.distance) best = m;
  return best;
}

export function within(at: number | undefined, now: number, windowMs: number): boolean {
  return at !== undefined && now - at < windowMs;
}
