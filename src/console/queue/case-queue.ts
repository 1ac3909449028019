import type { CaseEvent, CaseReason, ReviewAck, ReviewDecision } from '../../contracts/index.js';
import { MAX_SCORE_SAMPLES } from '../../contracts/index.js';
import type { Card, CardClaim, CardDecision, CardReason, Priority, ScorePoint } from './card.js';
import { compareCards } from './order.js';

export type Deadlines = Readonly<Record<Priority, number>>;

interface Entry {
  event: CaseEvent;
  /** When the case reached its current priority: the deadline runs from here. */
  priorityAt: number;
  /** Score history per classifier signal, accumulated across revisions (events carry a window). */
  history: Map<string, ScorePoint[]>;
  decisions: CardDecision[];
  claim?: CardClaim;
}

/**
 * The console's view of the cases: a pure fold of case events, review decisions, acks and
 * claims. It never talks to NATS; each apply* returns whether the case's card changed, so the
 * caller knows what to push to browsers.
 */
export class CaseQueue {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly deadlines: Deadlines,
    private readonly closedVisibleMs: number,
  ) {}

  /** Keeps the highest revision; an older or repeated event changes nothing. */
  applyCase(event: CaseEvent): boolean {
    if (event.shadow) return false; // shadow cases are for evaluating a policy, never for reviewers
    const prev = this.entries.get(event.caseId);
    if (prev && prev.event.revision >= event.revision) {
      mergeHistory(prev.history, event.reasons); // an older window may still add samples
      return false;
    }
    const priorityAt =
      prev && prev.event.priority === event.priority ? prev.priorityAt : Date.parse(prev ? event.updatedAt : event.openedAt);
    const entry: Entry = {
      event,
      priorityAt,
      history: prev?.history ?? new Map<string, ScorePoint[]>(),
      decisions: prev?.decisions ?? [],
      claim: prev?.claim,
    };
    mergeHistory(entry.history, event.reasons);
    this.entries.set(event.caseId, entry);
    return true;
  }

  applyDecision(d: ReviewDecision): boolean {
    const entry = this.entries.get(d.caseId);
    if (!entry || entry.decisions.some((x) => x.decisionId === d.decisionId)) return false;
    entry.decisions.push({
      decisionId: d.decisionId,
      decision: d.decision,
      reviewer: d.reviewer,
      at: d.decidedAt,
      ...(d.note !== undefined ? { note: d.note } : {}),
    });
    return true;
  }

  applyAck(a: ReviewAck): boolean {
    const entry = this.entries.get(a.caseId);
    if (!entry) return false;
    const ack = {
      result: a.result,
      ...(a.detail !== undefined ? { detail: a.detail } : {}),
      state: a.caseState.state,
      ...(a.caseState.priority ? { priority: a.caseState.priority } : {}),
      ...(a.caseState.suppressedUntil ? { suppressedUntil: a.caseState.suppressedUntil } : {}),
      ...(a.caseState.killSwitchEventId ? { killSwitchEventId: a.caseState.killSwitchEventId } : {}),
      at: a.at,
    };
    const i = entry.decisions.findIndex((x) => x.decisionId === a.decisionId);
    if (i >= 0) {
      if (entry.decisions[i]!.ack) return false;
      entry.decisions[i] = { ...entry.decisions[i]!, ack };
    } else {
      // The decision itself was not seen (another console's, older than our replay): the ack says enough.
      entry.decisions.push({ decisionId: a.decisionId, decision: a.decision, reviewer: a.reviewer, at: a.at, ack });
    }
    return true;
  }

  /** Returns whether the visible claim changed. */
  setClaim(caseId: string, claim: CardClaim | undefined): boolean {
    const entry = this.entries.get(caseId);
    if (!entry) return false;
    const same = entry.claim?.reviewer === claim?.reviewer && entry.claim?.expiresAt === claim?.expiresAt;
    entry.claim = claim;
    return !same;
  }

  event(caseId: string): CaseEvent | undefined {
    return this.entries.get(caseId)?.event;
  }

  card(caseId: string): Card | undefined {
    const entry = this.entries.get(caseId);
    return entry ? this.toCard(entry) : undefined;
  }

  /** Open cases and recently closed ones, most urgent first: priority, then the nearest deadline. */
  cards(now: number): Card[] {
    return [...this.entries.values()]
      .filter((e) => e.event.type !== 'case_closed' || Date.parse(e.event.updatedAt) + this.closedVisibleMs > now)
      .map((e) => this.toCard(e))
      .sort(compareCards);
  }

  /** Forgets closed cases no longer shown; returns their ids. */
  prune(now: number): string[] {
    const gone: string[] = [];
    for (const [id, e] of this.entries) {
      if (e.event.type === 'case_closed' && Date.parse(e.event.updatedAt) + this.closedVisibleMs <= now) {
        this.entries.delete(id);
        gone.push(id);
      }
    }
    return gone;
  }

  private toCard(entry: Entry): Card {
    const e = entry.event;
    return {
      caseId: e.caseId,
      streamId: e.streamId,
      revision: e.revision,
      state: e.type === 'case_closed' ? 'closed' : 'open',
      priority: e.priority,
      reasonClass: e.reasonClass,
      reasons: e.reasons.map((r) => cardReason(r, entry.history)),
      policy: { version: e.policy.version, rule: e.policy.rule },
      openedAt: e.openedAt,
      updatedAt: e.updatedAt,
      deadlineAt: new Date(entry.priorityAt + this.deadlines[e.priority]).toISOString(),
      metadata: flatMetadata(e.metadata),
      frames: e.storyboard.map((f) => ({
        seq: f.seq,
        capturedAt: f.capturedAt,
        decisive: f.decisive,
        renditions: f.renditions.map((r) => r.rendition),
      })),
      ...(e.killSwitch ? { killSwitch: { eventId: e.killSwitch.eventId, at: e.killSwitch.at, reason: e.killSwitch.reason } } : {}),
      ...(e.type === 'case_closed'
        ? {
            closure: {
              cause: e.closure.cause,
              at: e.closure.at,
              ...(e.closure.resolution ? { resolution: e.closure.resolution } : {}),
            },
          }
        : {}),
      ...(entry.claim && e.type !== 'case_closed' ? { claim: entry.claim } : {}),
      decisions: [...entry.decisions],
    };
  }
}

function mergeHistory(history: Map<string, ScorePoint[]>, reasons: readonly CaseReason[]): void {
  for (const r of reasons) {
    if (r.kind !== 'classifier') continue;
    const bySeq = new Map((history.get(r.signal) ?? []).map((p) => [p.seq, p]));
    for (const s of r.recent ?? []) bySeq.set(s.seq, { seq: s.seq, at: s.at, score: s.score });
    history.set(r.signal, [...bySeq.values()].sort((x, y) => x.seq - y.seq).slice(-MAX_SCORE_SAMPLES));
  }
}

function cardReason(r: CaseReason, history: Map<string, ScorePoint[]>): CardReason {
  switch (r.kind) {
    case 'classifier':
      return {
        kind: r.kind,
        label: `${r.signal} ${r.score.toFixed(2)} (peak ${r.peak.toFixed(2)}, threshold ${r.threshold.toFixed(2)})`,
        score: r.score,
        history: history.get(r.signal) ?? [],
      };
    case 'hash_match':
      return {
        kind: r.kind,
        label: `hash match on list ${r.match.list}${r.match.label ? ` (${r.match.label})` : ''}, distance ${r.match.distance}/256`,
      };
    case 'possible_minor':
      return {
        kind: r.kind,
        label: `possible minor: youngest apparent age ${r.minAge === undefined ? 'unknown' : r.minAge.toFixed(1)} (under ${r.challengeAge})`,
      };
    case 'unscreened':
      return { kind: r.kind, label: `unscreened: ${r.code} — ${r.message}` };
  }
}

/** Platform metadata as short strings; nested values are shown as JSON, cut to keep cards small. */
function flatMetadata(m: Readonly<Record<string, unknown>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {}).slice(0, 12)) {
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    out[k.slice(0, 64)] = s.length > 200 ? `${s.slice(0, 199)}…` : s;
  }
  return out;
}
