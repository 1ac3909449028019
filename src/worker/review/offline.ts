import type { PolicyOptions } from '../../config/index.js';
import type { ReviewDecision } from '../../contracts/index.js';
import type { DecisionSink, HashListEditor } from '../../domain/ports.js';
import type { KvCaseStore } from '../cases/case-store.js';
import type { ReviewAckData } from '../pipeline/case-keeper.js';
import { persisted } from '../pipeline/case-keeper.js';
import { caseEvent, killSwitchEvent, pageEvent, type EventContext } from '../pipeline/decision-event.js';
import { applyReview, caseById, INITIAL_POLICY_STATE, recordListVersion, rejectDecision, stateOf, type Effect } from '../policy/index.js';
import { addToList } from './add-to-list.js';

export interface OfflineDeps {
  readonly workerId: string;
  readonly policy: PolicyOptions;
  readonly cases: KvCaseStore;
  readonly sink: DecisionSink;
  readonly lists?: HashListEditor;
  readonly now: () => number;
}

/**
 * A decision for a stream no worker holds, applied to its KV state by compare-and-swap. What it
 * decides is published before the new state is written (kill-switch first): ids are derived from
 * the decision and the case revision, so a retry after a conflict or a crash publishes nothing
 * twice, and no decision is ever recorded as applied without its kill-switch having gone out.
 */
export async function applyOffline(d: ReviewDecision, deps: OfflineDeps): Promise<ReviewAckData> {
  let listVersion: string | undefined;
  if (d.decision === 'add-to-list') {
    const current = await deps.cases.load(d.streamId);
    // The list change is idempotent (a hash is never added twice); it is skipped only for a decision already applied.
    if (!current.applied[d.decisionId]) {
      const list = await addToList(deps.lists, d.list!);
      if (!list.ok) {
        return deps.cases.update(d.streamId, async (now) => {
          const state = { ...INITIAL_POLICY_STATE, ...now };
          const caseState = stateOf(caseById(state, d.caseId), state);
          return {
            next: persisted(rejectDecision(state, d.decisionId, list.detail, deps.now())),
            value: { result: 'rejected' as const, detail: list.detail, caseState },
          };
        });
      }
      listVersion = list.version;
    }
  }
  return deps.cases.update(d.streamId, async (current) => {
    const state = { ...INITIAL_POLICY_STATE, ...current };
    const record = caseById(state, d.caseId);
    const metadata = record?.metadata ?? {};
    const now = deps.now();
    const ctx = { streamId: d.streamId, runId: 'review', workerId: deps.workerId, metadata };
    const outcome = applyReview(state, d, ctx, deps.policy, now);
    if (outcome.addToList && outcome.ack.result === 'applied' && !deps.lists) {
      return {
        next: current,
        value: { result: 'rejected' as const, detail: 'hash lists not configured', caseState: outcome.ack.caseState },
      };
    }
    await publish(outcome.effects, { ...ctx, decidedAt: now, policyVersion: deps.policy.version }, deps.sink);
    const next = listVersion ? recordListVersion(outcome.state, d.decisionId, listVersion) : outcome.state;
    const ack = listVersion ? { ...outcome.ack, caseState: { ...outcome.ack.caseState, listVersion } } : outcome.ack;
    return { next: persisted(next), value: ack };
  });
}

async function publish(effects: readonly Effect[], ctx: EventContext, sink: DecisionSink): Promise<void> {
  for (const e of effects) {
    if (e.kind === 'killswitch') {
      await sink.killSwitch(killSwitchEvent(e, ctx));
      continue;
    }
    await sink.caseEvent(caseEvent(e));
    const page = pageEvent(e, ctx);
    if (page) await sink.escalation(page);
  }
}
