import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/index.js';
import type { DeadLetterEvent, KillSwitchEvent, ReviewAck, ReviewDecision } from '../../../src/contracts/index.js';
import { silentHooks } from '../../../src/domain/hooks.js';
import { ensureKv } from '../../../src/nats/index.js';
import { sinkFor } from '../../../src/worker/app/stages.js';
import { createCasePublisher } from '../../../src/worker/cases/case-publisher.js';
import { openCaseStore, type KvCaseStore } from '../../../src/worker/cases/case-store.js';
import { persisted } from '../../../src/worker/pipeline/case-keeper.js';
import { decide, INITIAL_POLICY_STATE } from '../../../src/worker/policy/index.js';
import { createDecisionPublisher } from '../../../src/worker/publish/index.js';
import { createLiveRegistry, startDecisionApplier } from '../../../src/worker/review/decision-applier.js';
import type { EventConsumer } from '../../../src/nats/index.js';
import { collectEvents, type EventCollector } from '../../support/jetstream-events.js';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.js';

// The decision applier on a real nats-server, with the worker's real publishers, case store and
// lease bucket; only the live stream (the screener's side) is a stand-in where a test says so.

const { stages } = resolveConfig({ review: { heldElsewhereRetryMs: 200 } });
const logger = pino({ level: 'silent' });

function decision(over: Partial<ReviewDecision> & Pick<ReviewDecision, 'caseId' | 'streamId' | 'decisionId'>): ReviewDecision {
  return {
    schemaVersion: 1,
    type: 'review_decision',
    decision: 'confirm',
    reviewer: 'alice',
    decidedAt: new Date().toISOString(),
    source: 'cli',
    ...over,
  };
}

describe('review decision applier', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let store: KvCaseStore;
  let applier: EventConsumer;
  let acks: EventCollector<ReviewAck>;
  let kills: EventCollector<KillSwitchEvent>;
  const registry = createLiveRegistry();
  const deadLetters: DeadLetterEvent[] = [];
  const casePublisher = () => createCasePublisher({ js, logger, options: stages.review, publish: stages.publisher });

  /** A stream with one open case in KV, as a worker that held it left it. */
  async function seedCase(streamId: string): Promise<string> {
    const ref = () => ({ seq: 4, pts: 4, capturedAt: new Date().toISOString() });
    const r = decide(
      INITIAL_POLICY_STATE,
      { capturedAt: Date.now(), seq: 4, matches: [], signals: { nudity: { porn: 0.99 } }, ref },
      { streamId, runId: 'r1', workerId: 'w-old', metadata: {} },
      { ...stages.policy, smoothing: { k: 1, n: 1 } },
      Date.now(),
    );
    await store.save(streamId, persisted(r.state));
    return r.state.cases[0]!.caseId;
  }

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await server.connect();
    js = jetstream(nc);
    const decisions = createDecisionPublisher({ js, logger, options: stages.publisher });
    await decisions.provision();
    const cases = casePublisher();
    await cases.provision();
    store = await openCaseStore(js, stages.review);
    const leases = await ensureKv(js, { name: stages.ingest.leaseBucket, ttl: stages.ingest.leaseTtlMs });
    applier = await startDecisionApplier({
      js,
      logger,
      workerId: 'w-here',
      options: stages.review,
      policy: stages.policy,
      registry,
      leases,
      cases: store,
      publisher: cases,
      sink: sinkFor(decisions, cases),
      deadLetter: async (e) => void deadLetters.push(e),
      events: silentHooks(),
    });
    acks = await collectEvents<ReviewAck>(nc, 'SCREENING_REVIEW', 'screening.reviewed.>');
    kills = await collectEvents<KillSwitchEvent>(nc, 'SCREENING_DECISIONS', 'screening.killswitch.>');
  }, 30_000);

  afterAll(async () => {
    await acks?.stop();
    await kills?.stop();
    await applier?.stop();
    await nc?.close();
    await server?.stop();
  });

  it('leaves a decision for a stream another worker holds to that worker, and applies it from KV once nobody holds it', async () => {
    const caseId = await seedCase('held-1');
    const leases = await ensureKv(js, { name: stages.ingest.leaseBucket });
    await leases.put('held-1', JSON.stringify({ workerId: 'w-other', streamId: 'held-1' }));
    await casePublisher().publishDecision(decision({ caseId, streamId: 'held-1', decisionId: 'd-held' }));
    await new Promise((r) => setTimeout(r, 1_500));
    expect(acks.events.filter((a) => a.decisionId === 'd-held')).toEqual([]);

    await leases.delete('held-1');
    const ack = await acks.waitFor((a) => a.decisionId === 'd-held', 10_000);
    expect(ack).toMatchObject({
      result: 'applied',
      workerId: 'w-here',
      caseState: { state: 'closed', killSwitchEventId: expect.any(String) },
    });
    const kill = await kills.waitFor((k) => k.streamId === 'held-1', 5_000);
    expect(kill).toMatchObject({
      reason: 'review_confirmed',
      caseId,
      review: { decisionId: 'd-held' },
      eventId: ack.caseState.killSwitchEventId,
    });
    expect((await store.load('held-1')).cases[0]).toMatchObject({ state: 'closed', closure: { resolution: 'confirmed' } });
  }, 30_000);

  it('hands a decision for a stream this worker screens to that stream', async () => {
    const seen: ReviewDecision[] = [];
    const unregister = registry.register('live-1', {
      review: async (d) => {
        seen.push(d);
        return { result: 'applied', caseState: { state: 'open', priority: 'high', revision: 3 } };
      },
    });
    try {
      await casePublisher().publishDecision(decision({ caseId: 'case-x', streamId: 'live-1', decisionId: 'd-live', decision: 'escalate' }));
      const ack = await acks.waitFor((a) => a.decisionId === 'd-live', 10_000);
      expect(ack).toMatchObject({ result: 'applied', decision: 'escalate', caseState: { state: 'open', priority: 'high', revision: 3 } });
      expect(seen.map((d) => d.decisionId)).toEqual(['d-live']);
    } finally {
      unregister();
    }
  }, 20_000);

  it('dead-letters a decision whose subject names another stream, and applies nothing', async () => {
    await js.publish('screening.review.wrong-1', JSON.stringify(decision({ caseId: 'c', streamId: 'other-1', decisionId: 'd-bad' })), {
      msgID: 'd-bad',
    });
    await expect.poll(() => deadLetters.map((d) => d.reason), { timeout: 10_000 }).toEqual(['subject_mismatch']);
    expect(acks.events.filter((a) => a.decisionId === 'd-bad')).toEqual([]);
  }, 20_000);
});
