import type { PolicyOptions } from '../../config/index.js';
import type { CaseModel, ReviewDecision } from '../../contracts/index.js';
import type { CooldownState } from '../policy/index.js';
import type { StreamCases } from '../../domain/cases.js';
import { errorCode } from '../../domain/errors.js';
import type { Emitter } from '../../domain/hooks.js';
import type { Logger } from '../../domain/logger.js';
import { pdqToHex } from '../../domain/pdq.js';
import type { CaseStateStore, DecisionSink, EvidenceStore, HashListEditor } from '../../domain/ports.js';
import type { WorkerEvents } from '../events.js';
import {
  applyReview,
  attachEvidence,
  decide,
  INITIAL_POLICY_STATE,
  mergeStreamCases,
  recordListVersion,
  rejectDecision,
  streamEnded,
  unclassified,
  unscreened,
  type CaseEffect,
  type Effect,
  type FrameAnalysis,
  type PolicyContext,
  type PolicyState,
  type ReviewOutcome,
  type Unscreenable,
} from '../policy/index.js';
import { caseEvent, killSwitchEvent, pageEvent, type EventContext } from './decision-event.js';
import { addToList } from '../review/add-to-list.js';
import type { FrameRing } from './frame-ring.js';

export interface CaseKeeperDeps {
  readonly ctx: PolicyContext;
  readonly policy: PolicyOptions;
  readonly sink: DecisionSink;
  /** The kill-switch cooldown across handovers (the policy-state bucket). */
  readonly cooldowns?: {
    load(streamId: string): Promise<CooldownState | undefined>;
    save(streamId: string, state: CooldownState): void;
  };
  /** KV case state: loaded at start, saved after every change. Absent (screen command): in memory only. */
  readonly store?: CaseStateStore;
  /** Absent or disabled: cases carry no storyboard. */
  readonly evidence?: EvidenceStore;
  readonly lists?: HashListEditor;
  /** The classifier models in use, named in every case event (reports say which model said what). */
  readonly models?: readonly CaseModel[];
  readonly ring: FrameRing;
  readonly logger: Logger;
  readonly events: Emitter<WorkerEvents>;
  /** Aborted when this worker must publish nothing more for the stream. */
  readonly publishSignal: AbortSignal;
  /** Throws LeaseLostError when another worker owns the stream now. */
  readonly assertOwned: () => Promise<void>;
  readonly now: () => number;
}

export type ReviewAckData = ReviewOutcome['ack'];

/**
 * One stream's policy state and what follows from it. Kill-switches are published before the
 * call that decided them returns (nothing waits in front of them); case events, the pages they
 * cause and the KV save go through one queue in order, behind the frame loop; evidence is stored
 * on a queue of its own and joins its case in a follow-up event.
 */
export class CaseKeeper {
  #state: PolicyState = INITIAL_POLICY_STATE;
  #cases: Promise<void> = Promise.resolve();
  #evidence: Promise<void> = Promise.resolve();
  #dirty = false;
  readonly #d: CaseKeeperDeps;
  readonly #log: Logger;

  constructor(deps: CaseKeeperDeps) {
    this.#d = deps;
    this.#log = deps.logger;
  }

  get state(): PolicyState {
    return this.#state;
  }

  /** Continues from the cooldown and the cases a previous holder left in KV (handover), if any. */
  async load(): Promise<void> {
    // A cooldown started by the stream's previous holder still holds.
    const cooldown = await this.#d.cooldowns?.load(this.#d.ctx.streamId);
    if (cooldown?.lastKillSwitchAt !== undefined) this.#state = { ...this.#state, lastKillSwitchAt: cooldown.lastKillSwitchAt };
    if (!this.#d.store) return;
    const stored = await this.#d.store.load(this.#d.ctx.streamId);
    this.#state = mergeStreamCases(this.#state, stored);
    const open = stored.cases.filter((c) => c.state === 'open').length;
    if (open > 0) this.#log.info({ open }, 'continuing open cases of this stream');
  }

  async frame(analysis: FrameAnalysis): Promise<void> {
    const now = this.#d.now();
    const r = decide(this.#state, analysis, this.#d.ctx, this.#d.policy, now);
    this.#state = r.state;
    if (r.effects.length) await this.#publish(r.effects, now, analysis.capturedAt);
  }

  async unclassified(why: Unscreenable): Promise<void> {
    const now = this.#d.now();
    const r = unclassified(this.#state, why, this.#d.ctx, this.#d.policy, now);
    this.#state = r.state;
    if (r.effects.length) await this.#publish(r.effects, now);
  }

  async unscreened(why: Unscreenable): Promise<void> {
    const now = this.#d.now();
    const r = unscreened(this.#state, why, this.#d.ctx, this.#d.policy, now);
    this.#state = r.state;
    if (r.effects.length) await this.#publish(r.effects, now);
  }

  /**
   * A reviewer's decision on one of this stream's cases. The list change of add-to-list is made
   * first (the decision is recorded only once it holds); the ack reports the state once the case
   * events and the KV save went out.
   */
  async review(decision: ReviewDecision): Promise<ReviewAckData> {
    let outcome = applyReview(this.#state, decision, this.#d.ctx, this.#d.policy, this.#d.now());
    let listVersion: string | undefined;
    if (outcome.addToList && outcome.ack.result === 'applied') {
      const list = await addToList(this.#d.lists, outcome.addToList);
      if (!list.ok) {
        this.#state = rejectDecision(this.#state, decision.decisionId, list.detail, this.#d.now());
        this.#dirty = true;
        this.#queueSave();
        await this.flush();
        return { result: 'rejected', detail: list.detail, caseState: outcome.ack.caseState };
      }
      listVersion = list.version;
      // The frame loop may have moved on during the upload: decide again on the state now.
      outcome = applyReview(this.#state, decision, this.#d.ctx, this.#d.policy, this.#d.now());
    }
    this.#state = listVersion ? recordListVersion(outcome.state, decision.decisionId, listVersion) : outcome.state;
    this.#dirty = true;
    await this.#publish(outcome.effects, this.#d.now());
    this.#queueSave();
    await this.flush();
    return listVersion ? { ...outcome.ack, caseState: { ...outcome.ack.caseState, listVersion } } : outcome.ack;
  }

  /** The stream ended: its open cases close. */
  async ended(): Promise<void> {
    const now = this.#d.now();
    const r = streamEnded(this.#state, this.#d.ctx, now);
    this.#state = r.state;
    if (r.effects.length) await this.#publish(r.effects, now);
  }

  /** Waits until queued evidence, case events and saves are out (or abandoned by the publish signal). */
  async flush(): Promise<void> {
    await this.#evidence;
    await this.#cases;
  }

  async #publish(effects: readonly Effect[], now: number, capturedAt?: number): Promise<void> {
    const ctx = this.#eventContext(now, capturedAt);
    let changed = false;
    for (const e of effects) {
      if (e.kind === 'killswitch') {
        const event = killSwitchEvent(e, ctx);
        // Handed over even if the stream has just changed hands: a decision made on a frame this
        // worker screened is never dropped (the sink's outbox delivers it; consumers dedupe by id).
        try {
          await this.#d.sink.killSwitch(event, this.#d.publishSignal);
        } catch (err) {
          this.#log.error({ err, eventId: event.eventId, reason: e.reason }, 'kill-switch could not be handed over');
          throw err;
        }
        this.#d.cooldowns?.save(this.#d.ctx.streamId, { lastKillSwitchAt: this.#state.lastKillSwitchAt ?? now, lastEscalationAt: {} });
        this.#d.events.emit('pipeline.decision', { kind: 'killswitch', shadow: e.shadow });
        this.#log.info({ eventId: event.eventId, reason: e.reason, rule: e.rule, caseId: e.caseId }, 'kill-switch published');
        continue;
      }
      changed = true;
      this.#queueCase(e, ctx);
      if (e.evidence && this.#d.evidence) this.#queueEvidence(e, e.evidence.preserveOriginal && !e.record.shadow, capturedAt);
    }
    if (changed) {
      this.#dirty = true;
      this.#queueSave();
    }
  }

  #eventContext(now: number, capturedAt?: number): EventContext {
    const { streamId, runId, workerId, metadata } = this.#d.ctx;
    return {
      streamId,
      runId,
      workerId,
      metadata,
      decidedAt: now,
      policyVersion: this.#d.policy.version,
      ...(capturedAt === undefined ? {} : { capturedAt }),
    };
  }

  #queueCase(e: CaseEffect, ctx: EventContext): void {
    const event = caseEvent(e, this.#d.models);
    const page = pageEvent(e, ctx);
    this.#cases = this.#cases.then(async () => {
      try {
        await this.#d.sink.caseEvent(event, this.#d.publishSignal);
        this.#d.events.emit('pipeline.decision', { kind: 'case', shadow: e.record.shadow === true });
        if (page) {
          await this.#d.sink.escalation(page, this.#d.publishSignal);
          this.#d.events.emit('pipeline.decision', { kind: 'escalation', shadow: page.shadow === true });
        }
        this.#log.info(
          {
            eventId: event.eventId,
            type: event.type,
            caseId: event.caseId,
            revision: event.revision,
            priority: event.priority,
            rule: event.policy.rule,
          },
          'case event published',
        );
      } catch (err) {
        this.#failed(err, 'case event not published');
      }
    });
  }

  #queueSave(): void {
    const store = this.#d.store;
    if (!store) return;
    this.#cases = this.#cases.then(async () => {
      if (!this.#dirty || this.#d.publishSignal.aborted) return;
      this.#dirty = false;
      try {
        await this.#d.assertOwned();
        const stored = await store.save(this.#d.ctx.streamId, persisted(this.#state));
        // Another writer (a decision applied while no worker held the stream) is merged in.
        this.#state = mergeStreamCases(this.#state, stored);
      } catch (err) {
        this.#dirty = true;
        this.#failed(err, 'case state not saved');
      }
    });
  }

  #queueEvidence(e: CaseEffect, preserveOriginal: boolean, decisiveAt: number | undefined): void {
    const store = this.#d.evidence!;
    // Taken now, at the decision: the storyboard is the frames up to the one the rule fired on.
    // A classifier's decision arrives after later frames were hashed (the frame loop does not
    // wait for inference): those are not part of its storyboard.
    const frames = this.#d.ring
      .snapshot()
      .filter((f) => decisiveAt === undefined || f.frame.capturedAt <= decisiveAt)
      .map((f) => ({ frame: f.frame, ...(f.hash ? { pdqHash: pdqToHex(f.hash) } : {}) }));
    const { caseId, streamId } = e.record;
    this.#evidence = this.#evidence.then(async () => {
      try {
        const stored = await store.store({ streamId, caseId, frames, preserveOriginal }, this.#d.publishSignal);
        const now = this.#d.now();
        const r = attachEvidence(this.#state, caseId, stored, this.#d.ctx, now);
        this.#state = r.state;
        await this.#publish(r.effects, now);
      } catch (err) {
        this.#failed(err, 'evidence not stored');
      }
    });
  }

  #failed(err: unknown, message: string): void {
    if (this.#d.publishSignal.aborted) return;
    this.#d.events.emit('pipeline.error', { code: errorCode(err) });
    this.#log.error({ err }, message);
  }
}

/** What goes to KV: cases, suppressions and decisions, not the few seconds of smoothing. */
export function persisted(state: PolicyState): StreamCases {
  return { cases: state.cases, suppressed: state.suppressed, applied: state.applied };
}
