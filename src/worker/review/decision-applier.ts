import type { JetStreamClient } from '@nats-io/jetstream';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { PolicyOptions, ReviewOptions } from '../../config/index.js';
import { ReviewDecisionSchema, SCHEMA_VERSION, type AuditRecord, type ReviewAck, type ReviewDecision } from '../../contracts/index.js';
import { reviewAckEventId, reviewAuditEventId } from '../../domain/event-id.js';
import type { Emitter } from '../../domain/hooks.js';
import type { Logger } from '../../domain/logger.js';
import type { DecisionSink, HashListEditor } from '../../domain/ports.js';
import { consumeEvents, ensureConsumer, type EventConsumer, type Parsed, type Settlement } from '../../nats/index.js';
import type { CasePublisher } from '../cases/case-publisher.js';
import { reviewStreams } from '../cases/case-publisher.js';
import type { KvCaseStore } from '../cases/case-store.js';
import type { WorkerEvents } from '../events.js';
import { buildDeadLetter } from '../intake/dead-letter.js';
import type { LiveStream, LiveStreamRegistry } from '../pipeline/stream-screener.js';
import { applyOffline } from './offline.js';
import type { ReviewAckData } from '../pipeline/case-keeper.js';
import type { DeadLetterEvent } from '../../contracts/index.js';

/** The streams this worker screens now, by id: where a decision for one of them is applied. */
export function createLiveRegistry(): LiveStreamRegistry & { get(streamId: string): LiveStream | undefined } {
  const live = new Map<string, LiveStream>();
  return {
    register(streamId, stream) {
      live.set(streamId, stream);
      return () => {
        if (live.get(streamId) === stream) live.delete(streamId);
      };
    },
    get: (streamId) => live.get(streamId),
  };
}

export interface DecisionApplierDeps {
  readonly js: JetStreamClient;
  readonly logger: Logger;
  readonly workerId: string;
  readonly options: ReviewOptions;
  readonly policy: PolicyOptions;
  readonly registry: ReturnType<typeof createLiveRegistry>;
  /** Leases (ingest.leaseBucket): whether another worker holds the stream. */
  readonly leases: KV;
  readonly cases: KvCaseStore;
  readonly publisher: CasePublisher;
  /** Kill-switches (review_confirmed), case events and pages of decisions applied here for ended streams. */
  readonly sink: DecisionSink;
  readonly lists?: HashListEditor;
  readonly deadLetter: (event: DeadLetterEvent) => Promise<unknown>;
  readonly events: Emitter<WorkerEvents>;
  readonly now?: () => number;
}

/**
 * Review decisions (`screening.review.<streamId>`), applied once each (decision id), wherever the
 * stream's state lives:
 * - the worker holding the stream applies it to the live state (so the next frame already
 *   knows the case is dismissed or escalated);
 * - a worker that does not hold it, while another worker does (a live lease), hands it back
 *   (nak, review.heldElsewhereRetryMs) for the holder to take from the shared durable consumer;
 * - when no worker holds the stream (it ended, failed, or is between holders), whichever worker
 *   gets it applies it to the KV state by compare-and-swap: it is still audited, and a confirm
 *   still produces the kill-switch.
 * Every worker runs this consumer, so decisions are applied while any worker runs; they wait in
 * the review stream (30 days) while none does. The outcome is acknowledged on
 * `screening.reviewed.<streamId>` with the resulting case state and audited on `screening.audit`.
 */
export async function startDecisionApplier(deps: DecisionApplierDeps): Promise<EventConsumer> {
  const o = deps.options;
  const { review } = reviewStreams(o);
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ component: 'review' });
  if (o.provision) {
    await ensureConsumer(
      await deps.js.jetstreamManager(),
      review.name,
      {
        durable_name: o.decisionsConsumer,
        filter_subject: `${o.decisionSubjectPrefix}.*`,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: o.decisionAckWaitMs * 1_000_000,
        max_deliver: -1,
      },
      log,
    );
  }

  const finish = async (d: ReviewDecision, ack: ReviewAckData): Promise<void> => {
    const at = new Date(now()).toISOString();
    const event: ReviewAck = {
      schemaVersion: SCHEMA_VERSION,
      type: 'review_ack',
      eventId: reviewAckEventId(d.decisionId, ack.result),
      decisionId: d.decisionId,
      caseId: d.caseId,
      streamId: d.streamId,
      decision: d.decision,
      reviewer: d.reviewer,
      result: ack.result,
      ...(ack.detail ? { detail: ack.detail } : {}),
      caseState: ack.caseState,
      at,
      workerId: deps.workerId,
    };
    // Audit first: a decision's application is on record before anyone is told it happened.
    if (ack.result !== 'duplicate') {
      const audit: AuditRecord = {
        schemaVersion: SCHEMA_VERSION,
        type: 'audit',
        eventId: reviewAuditEventId(d.decisionId, ack.result),
        at,
        actor: { kind: 'worker', id: deps.workerId },
        action: ack.result === 'rejected' ? 'decision_rejected' : 'decision_applied',
        caseId: d.caseId,
        streamId: d.streamId,
        decisionId: d.decisionId,
        decision: d.decision,
        ...(ack.detail ? { why: ack.detail } : {}),
      };
      await deps.publisher.publishAudit(audit);
    }
    await deps.publisher.publishAck(event);
    log.info(
      { decisionId: d.decisionId, caseId: d.caseId, streamId: d.streamId, decision: d.decision, result: ack.result },
      'review decision',
    );
  };

  const handle = async (d: ReviewDecision): Promise<Settlement> => {
    const live = deps.registry.get(d.streamId);
    if (live) {
      await finish(d, await live.review(d));
      return { kind: 'ack' };
    }
    const lease = await deps.leases.get(d.streamId);
    if (lease && lease.operation === 'PUT') {
      return { kind: 'nak', delayMs: o.heldElsewhereRetryMs, reason: 'stream held by another worker' };
    }
    const ack = await applyOffline(d, {
      workerId: deps.workerId,
      policy: deps.policy,
      cases: deps.cases,
      sink: deps.sink,
      ...(deps.lists ? { lists: deps.lists } : {}),
      now,
    });
    await finish(d, ack);
    return { kind: 'ack' };
  };

  return consumeEvents<ReviewDecision>({
    js: deps.js,
    logger: log,
    stream: review.name,
    consumer: o.decisionsConsumer,
    parse: (subject, data) => parseDecision(subject, data, o.decisionSubjectPrefix),
    handle,
    deadLetter: async (invalid) => {
      const reason =
        invalid.reason === 'subject_mismatch' ? 'subject_mismatch' : invalid.reason === 'invalid_json' ? 'invalid_json' : 'schema_invalid';
      await deps.deadLetter(buildDeadLetter(invalid, reason, invalid.issues, deps.workerId));
      deps.events.emit('intake.deadLetter', { subject: invalid.subject, reason, kind: 'decision' });
    },
    concurrency: 4,
  });
}

/** Validation at the edge: a decision must be well-formed and name the stream of its subject. */
export function parseDecision(subject: string, data: Uint8Array, prefix: string): Parsed<ReviewDecision> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'invalid_json', issues: [(err as Error).message] };
  }
  const parsed = ReviewDecisionSchema.safeParse(json);
  if (!parsed.success) {
    return { ok: false, reason: 'schema_invalid', issues: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
  }
  const token = subject.slice(prefix.length + 1);
  if (token !== parsed.data.streamId) {
    return {
      ok: false,
      reason: 'subject_mismatch',
      issues: [`subject ${subject} names stream ${token}, the decision ${parsed.data.streamId}`],
    };
  }
  return { ok: true, value: parsed.data };
}
