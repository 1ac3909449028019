import { randomUUID } from 'node:crypto';
import type { AuditRecord, EscalationPriority, EvidenceFrame, EvidenceRef, ReviewDecision } from '../contracts/index.js';
import { errorCode } from '../domain/errors.js';
import type { Logger } from '../domain/logger.js';
import type { Identity } from './auth/identity.js';
import { blurredThumbnail, revealedImage } from './evidence/renditions.js';
import type { Card, CardClaim, DecisionKind, Exposure, ServerEvent } from './queue/card.js';
import { CaseQueue, type Deadlines } from './queue/case-queue.js';
import { shiftEndsAt, shiftIndex, type ShiftClock } from './queue/shifts.js';
import type {
  AuditReader,
  CaseFeed,
  ClaimRecord,
  ClaimsRepository,
  EvidenceReader,
  ExposureRepository,
  FeedItem,
  ReviewPublisher,
} from './ports.js';

export type Refusal =
  | 'case_not_found'
  | 'case_closed'
  | 'claimed_by_other'
  | 'not_claimed'
  | 'frame_not_found'
  | 'rendition_missing'
  | 'exposure_budget_spent'
  | 'reason_required'
  | 'invalid_decision';

/** Expected outcomes of a reviewer's action are values; only faults (NATS down, bad evidence) throw. */
export type Outcome<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly refusal: Refusal; readonly message: string };

export interface DecisionInput {
  readonly decision: DecisionKind;
  readonly note?: string;
  readonly priority?: EscalationPriority;
  readonly list?: { readonly id: string; readonly action: 'kill' | 'escalate'; readonly label?: string };
}

export interface ConsoleServiceDeps {
  readonly feed: CaseFeed;
  readonly claims: ClaimsRepository;
  readonly exposure: ExposureRepository;
  readonly publisher: ReviewPublisher;
  readonly audit: AuditReader;
  readonly evidence: EvidenceReader;
  readonly deadlines: Deadlines;
  readonly closedVisibleMs: number;
  readonly shifts: ShiftClock;
  readonly liftGrant: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

type Listener = { readonly reviewer: string; readonly send: (e: ServerEvent) => void };

const refuse = <T>(refusal: Refusal, message: string): Outcome<T> => ({ ok: false, refusal, message });

/**
 * The console's application layer: folds NATS into the queue, pushes changed cards to the
 * browsers, and carries out reviewers' actions with every rule checked here, on the server
 * (claims, budget, audit before any preserved original leaves).
 */
export class ConsoleService {
  private readonly queue: CaseQueue;
  private readonly listeners = new Set<Listener>();
  private readonly expiryTimers = new Map<string, NodeJS.Timeout>();
  private readonly now: () => number;
  private stopWatch?: () => Promise<void>;
  private pruneTimer?: NodeJS.Timeout;

  constructor(private readonly d: ConsoleServiceDeps) {
    this.queue = new CaseQueue(d.deadlines, d.closedVisibleMs);
    this.now = d.now ?? Date.now;
  }

  async start(): Promise<void> {
    this.stopWatch = await this.d.claims.watch((caseId, claim) => this.onClaim(caseId, claim));
    await this.d.feed.start((item) => this.onFeed(item));
    this.pruneTimer = setInterval(() => {
      for (const caseId of this.queue.prune(this.now())) this.broadcast({ type: 'removed', caseId });
    }, 30_000);
    this.pruneTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.pruneTimer);
    for (const t of this.expiryTimers.values()) clearTimeout(t);
    this.expiryTimers.clear();
    await this.stopWatch?.();
    await this.d.feed.stop();
  }

  subscribe(reviewer: string, send: (e: ServerEvent) => void): () => void {
    const listener = { reviewer, send };
    this.listeners.add(listener);
    send({ type: 'snapshot', cards: this.queue.cards(this.now()) });
    return () => this.listeners.delete(listener);
  }

  cards(): Card[] {
    return this.queue.cards(this.now());
  }

  async claim(caseId: string, who: Identity): Promise<Outcome<CardClaim>> {
    const open = this.openCase(caseId);
    if (!open.ok) return open;
    const r = await this.d.claims.claim(caseId, who.id, who.name);
    if (!r.ok) return refuse('claimed_by_other', `claimed by ${r.heldBy.reviewerName} until ${new Date(r.heldBy.expiresAt).toISOString()}`);
    this.onClaim(caseId, r.claim);
    return { ok: true, value: toCardClaim(r.claim) };
  }

  async release(caseId: string, who: Identity): Promise<Outcome<true>> {
    if (!(await this.d.claims.release(caseId, who.id))) return refuse('not_claimed', 'you do not hold a claim on this case');
    this.onClaim(caseId, undefined);
    return { ok: true, value: true };
  }

  async decide(caseId: string, who: Identity, input: DecisionInput): Promise<Outcome<{ decisionId: string }>> {
    const held = await this.heldCase(caseId, who);
    if (!held.ok) return held;
    const event = held.value;
    let list: ReviewDecision['list'];
    if (input.decision === 'add-to-list') {
      const hash = event.pdqHash ?? event.frame?.hash;
      if (!input.list || !hash) return refuse('invalid_decision', 'add-to-list needs a list and a case with a PDQ hash');
      list = { id: input.list.id, action: input.list.action, hash, ...(input.list.label ? { label: input.list.label } : {}) };
    }
    const decision: ReviewDecision = {
      schemaVersion: 1,
      type: 'review_decision',
      decisionId: `rd-${randomUUID()}`,
      caseId,
      streamId: event.streamId,
      caseRevision: event.revision,
      decision: input.decision,
      reviewer: who.id,
      decidedAt: new Date(this.now()).toISOString(),
      ...(input.note ? { note: input.note } : {}),
      ...(input.decision === 'escalate' && input.priority ? { priority: input.priority } : {}),
      ...(list ? { list } : {}),
      source: 'console',
    };
    await this.d.publisher.publishDecision(decision);
    await this.d.publisher.publishAudit(
      this.auditRecord(who, 'decision_submitted', {
        caseId,
        streamId: event.streamId,
        decisionId: decision.decisionId,
        decision: input.decision,
      }),
    );
    if (this.queue.applyDecision(decision)) this.pushCard(caseId);
    return { ok: true, value: { decisionId: decision.decisionId } };
  }

  /** The default view of a frame: pre-blurred by the worker, or blurred here; never clear. */
  async thumbnail(caseId: string, seq: number, who: Identity): Promise<Outcome<Buffer>> {
    const frame = this.frame(caseId, seq);
    if (!frame.ok) return frame;
    const blurred = rendition(frame.value, 'blurred');
    if (blurred) return { ok: true, value: await this.d.evidence.read(blurred) };
    // Never from the preserved original: reading that is an audited act, a thumbnail is not.
    const clear = rendition(frame.value, 'reviewer');
    if (!clear) return refuse('rendition_missing', 'no reviewer rendition stored for this frame');
    return { ok: true, value: await blurredThumbnail(await this.d.evidence.read(clear), who.wellness.blurSigma) };
  }

  /**
   * One deliberate unblur of one frame: only by the reviewer holding the case, counted against
   * their budget before any byte is read; a preserved original also needs a stated reason and is
   * audited before it is sent (no audit record, no original).
   */
  async reveal(
    caseId: string,
    seq: number,
    who: Identity,
    which: 'reviewer' | 'original',
    why?: string,
  ): Promise<Outcome<{ bytes: Buffer; contentType: string; exposure: Exposure }>> {
    const held = await this.heldCase(caseId, who);
    if (!held.ok) return held;
    const frame = this.frame(caseId, seq);
    if (!frame.ok) return frame;
    const ref = rendition(frame.value, which);
    if (!ref) return refuse('rendition_missing', `no ${which} rendition stored for this frame`);
    if (which === 'original' && !why?.trim()) return refuse('reason_required', 'say why you need the preserved original; it is audited');
    const shift = shiftIndex(this.d.shifts, this.now());
    const budget = who.wellness.exposureBudget;
    const taken = await this.d.exposure.consume(who.id, shift, budget);
    const exposure = this.exposureOf(taken.count, budget);
    this.sendTo(who.id, { type: 'exposure', exposure });
    if (!taken.ok)
      return refuse(
        'exposure_budget_spent',
        `unblurred views for this shift spent (${exposure.used} of ${exposure.budget}); a lead can lift the block`,
      );
    const evidence = { bucket: ref.bucket, name: ref.name, rendition: ref.rendition, sha256: ref.sha256 };
    const action = which === 'original' ? 'original_viewed' : 'evidence_revealed';
    await this.d.publisher.publishAudit(
      this.auditRecord(who, action, {
        caseId,
        streamId: held.value.streamId,
        evidence,
        ...(why?.trim() ? { why: why.trim().slice(0, 2000) } : {}),
      }),
    );
    const image = await this.d.evidence.read(ref);
    const shown =
      which === 'original' ? { bytes: image, contentType: ref.contentType } : await revealedImage(image, who.wellness.greyscaleRevealed);
    return { ok: true, value: { ...shown, exposure } };
  }

  async exposure(who: Identity): Promise<Exposure> {
    const count = await this.d.exposure.read(who.id, shiftIndex(this.d.shifts, this.now()));
    return this.exposureOf(count, who.wellness.exposureBudget);
  }

  /** A lead grants a reviewer more unblurred views this shift; audited. */
  async liftBlock(lead: Identity, reviewer: string): Promise<{ used: number; granted: number }> {
    const count = await this.d.exposure.grant(reviewer, shiftIndex(this.d.shifts, this.now()), this.d.liftGrant);
    await this.d.publisher.publishAudit(this.auditRecord(lead, 'exposure_block_lifted', { subject: reviewer }));
    return count;
  }

  auditLog(limit: number): Promise<AuditRecord[]> {
    return this.d.audit.latest(limit);
  }

  private onFeed(item: FeedItem): void {
    const changed =
      item.kind === 'case'
        ? this.queue.applyCase(item.event)
        : item.kind === 'decision'
          ? this.queue.applyDecision(item.decision)
          : this.queue.applyAck(item.ack);
    const caseId = item.kind === 'case' ? item.event.caseId : item.kind === 'decision' ? item.decision.caseId : item.ack.caseId;
    if (changed) this.pushCard(caseId);
  }

  private onClaim(caseId: string, claim: ClaimRecord | undefined): void {
    clearTimeout(this.expiryTimers.get(caseId));
    this.expiryTimers.delete(caseId);
    if (claim) {
      // KV does not announce the server's expiry: a timer returns the case to the queue on time.
      const timer = setTimeout(() => this.onClaim(caseId, undefined), Math.max(0, claim.expiresAt - this.now()) + 50);
      timer.unref();
      this.expiryTimers.set(caseId, timer);
    }
    if (this.queue.setClaim(caseId, claim ? toCardClaim(claim) : undefined)) this.pushCard(caseId);
  }

  private openCase(caseId: string): Outcome<NonNullable<ReturnType<CaseQueue['event']>>> {
    const event = this.queue.event(caseId);
    if (!event) return refuse('case_not_found', `no case ${caseId}`);
    if (event.type === 'case_closed') return refuse('case_closed', `case ${caseId} is closed`);
    return { ok: true, value: event };
  }

  /** The case is open and this reviewer holds an unexpired claim on it, as KV says now. */
  private async heldCase(caseId: string, who: Identity): Promise<Outcome<NonNullable<ReturnType<CaseQueue['event']>>>> {
    const open = this.openCase(caseId);
    if (!open.ok) return open;
    const claim = await this.d.claims.current(caseId);
    if (!claim) return refuse('not_claimed', 'claim the case first');
    if (claim.reviewer !== who.id) return refuse('claimed_by_other', `claimed by ${claim.reviewerName}`);
    return open;
  }

  private frame(caseId: string, seq: number): Outcome<EvidenceFrame> {
    const event = this.queue.event(caseId);
    if (!event) return refuse('case_not_found', `no case ${caseId}`);
    const frame = event.storyboard.find((f) => f.seq === seq);
    return frame ? { ok: true, value: frame } : refuse('frame_not_found', `case ${caseId} has no frame ${seq}`);
  }

  private exposureOf(count: { used: number; granted: number }, budget: number): Exposure {
    return {
      used: Math.min(count.used, budget + count.granted),
      budget: budget + count.granted,
      shiftEndsAt: new Date(shiftEndsAt(this.d.shifts, this.now())).toISOString(),
    };
  }

  private auditRecord(who: Identity, action: AuditRecord['action'], extra: Partial<AuditRecord>): AuditRecord {
    return {
      schemaVersion: 1,
      type: 'audit',
      eventId: `au-${randomUUID()}`,
      at: new Date(this.now()).toISOString(),
      actor: { kind: 'reviewer', id: who.id },
      action,
      ...extra,
    };
  }

  private pushCard(caseId: string): void {
    const card = this.queue.card(caseId);
    if (card) this.broadcast({ type: 'card', card });
  }

  private broadcast(e: ServerEvent): void {
    for (const l of this.listeners) this.safeSend(l, e);
  }

  private sendTo(reviewer: string, e: ServerEvent): void {
    for (const l of this.listeners) if (l.reviewer === reviewer) this.safeSend(l, e);
  }

  private safeSend(l: Listener, e: ServerEvent): void {
    try {
      l.send(e);
    } catch (err) {
      this.d.logger.warn({ code: errorCode(err) }, 'dropped an event stream that failed');
      this.listeners.delete(l);
    }
  }
}

function rendition(frame: EvidenceFrame, which: EvidenceRef['rendition']): EvidenceRef | undefined {
  return frame.renditions.find((r) => r.rendition === which);
}

function toCardClaim(c: ClaimRecord): CardClaim {
  return { reviewer: c.reviewer, reviewerName: c.reviewerName, expiresAt: new Date(c.expiresAt).toISOString() };
}
