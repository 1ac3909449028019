/**
 * The worker's review-loop parts under deploy/nats/streamscreen.conf's reference permissions:
 * with the worker's login it provisions the case, review and audit streams, its case bucket and
 * evidence buckets and the shared decision consumer, stores sealed evidence and case state, and
 * applies a decision the console published, without one permission violation. add-to-list is
 * refused in the decision's ack (the worker may not write the hash-list bucket there), not lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, resolveConfig } from '../../src/config/index.js';
import type { ReviewAck, ReviewDecision } from '../../src/contracts/index.js';
import { silentHooks } from '../../src/domain/hooks.js';
import { connectNats, ensureKv, type EventConsumer } from '../../src/nats/index.js';
import { sinkFor } from '../../src/worker/app/stages.js';
import { createCasePublisher } from '../../src/worker/cases/case-publisher.js';
import { openCaseStore } from '../../src/worker/cases/case-store.js';
import { openEvidenceBuckets } from '../../src/worker/evidence/buckets.js';
import { createEvidenceStore } from '../../src/worker/evidence/evidence-store.js';
import { openHashListBucket } from '../../src/hash/object-store-lists.js';
import { caseEvent } from '../../src/worker/pipeline/decision-event.js';
import { persisted } from '../../src/worker/pipeline/case-keeper.js';
import { decide, INITIAL_POLICY_STATE } from '../../src/worker/policy/index.js';
import { createDecisionPublisher } from '../../src/worker/publish/index.js';
import { createLiveRegistry, startDecisionApplier } from '../../src/worker/review/decision-applier.js';
import { createListEditor } from '../../src/worker/review/list-editor.js';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';
import { copyNatsConfig, natsEnv, rolePassword, storeDir, type Role } from './nats-config.js';

const silent = pino({ level: 'silent' });
const { stages } = resolveConfig({ evidence: { keys: { k1: randomBytes(32).toString('base64') } } });

let server: ChildProcess;
let url: string;
let log = '';
const conns: NatsConnection[] = [];
let applier: EventConsumer | undefined;

async function connectAs(role: Role): Promise<NatsConnection> {
  const { nats } = loadConfig({
    env: {},
    cwd: '/nonexistent-dir',
    overrides: { nats: { url, user: role, pass: rolePassword(role), inboxPrefix: `_INBOX_${role}`, connectTimeoutMs: 3000 } },
  });
  const nc = await connectNats(nats, silent, { reconnect: false });
  conns.push(nc);
  return nc;
}

beforeAll(async () => {
  const port = await freePort();
  url = `nats://127.0.0.1:${port}`;
  const conf = copyNatsConfig('streamscreen.conf', [[/^(\s*store_dir:\s*).*$/m, `$1"${storeDir()}"`]]);
  server = spawn(process.env.NATS_SERVER_BIN ?? 'nats-server', ['-c', conf, '-a', '127.0.0.1', '-p', String(port)], {
    env: natsEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  server.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  await eventually(
    async () =>
      await connectAs('worker')
        .then(() => true)
        .catch(() => undefined),
    10_000,
    'nats-server up',
  );
}, 20_000);

afterAll(async () => {
  if (process.env.DEBUG_NATS_LOG) console.log(log);
  await applier?.stop();
  for (const nc of conns) await nc.close().catch(() => {});
  server?.kill('SIGTERM');
});

describe(`the worker's review loop under ${join('deploy/nats', 'accounts.conf')}`, () => {
  it('provisions, stores evidence and case state, and applies a decision from the console, without a permission violation', async () => {
    const worker = await connectAs('worker');
    const js = jetstream(worker);
    const decisions = createDecisionPublisher({ js, logger: silent, options: stages.publisher });
    await decisions.provision();
    const cases = createCasePublisher({ js, logger: silent, options: stages.review, publish: stages.publisher });
    await cases.provision();
    const store = await openCaseStore(js, stages.review);
    const leases = await ensureKv(js, { name: stages.ingest.leaseBucket, ttl: stages.ingest.leaseTtlMs });
    const evidence = createEvidenceStore({ buckets: await openEvidenceBuckets(js, stages.evidence), options: stages.evidence });

    // A case as the screener makes it: decided, its evidence stored, published, saved.
    const ref = () => ({ seq: 1, pts: 1, capturedAt: new Date().toISOString(), hash: 'ab'.repeat(32) });
    const r = decide(
      INITIAL_POLICY_STATE,
      { capturedAt: Date.now(), seq: 1, matches: [], signals: { nudity: { porn: 0.99 } }, ref },
      { streamId: 'perm-1', runId: 'r1', workerId: 'w', metadata: {} },
      { ...stages.policy, smoothing: { k: 1, n: 1 } },
      Date.now(),
    );
    const opened = r.effects.find((e) => e.kind === 'case')!;
    const frame = {
      streamId: 'perm-1',
      seq: 1,
      pts: 1,
      capturedAt: Date.now(),
      width: 32,
      height: 24,
      data: Buffer.alloc(32 * 24 * 3, 90),
    };
    const stored = await evidence.store({ streamId: 'perm-1', caseId: opened.record.caseId, frames: [{ frame }], preserveOriginal: true });
    expect(stored[0]!.renditions.map((x) => x.rendition)).toEqual(['blurred', 'reviewer', 'original']);
    await cases.publishCase(caseEvent(opened));
    await store.save('perm-1', persisted(r.state));

    // The list publisher's login creates the hash-list bucket, as a deployment's first `hashlist publish` does.
    await openHashListBucket(await connectAs('lists'), stages.hashListSync.bucket);
    const editor = createListEditor({
      lists: () => openHashListBucket(worker, stages.hashListSync.bucket, { create: false }),
      locks: store.kv,
      staleMs: 30_000,
      holder: 'w',
    });
    const acks: ReviewAck[] = [];
    applier = await startDecisionApplier({
      js,
      logger: silent,
      workerId: 'perm-worker',
      options: stages.review,
      policy: stages.policy,
      registry: createLiveRegistry(),
      leases,
      cases: store,
      publisher: { ...cases, publishAck: async (a) => (acks.push(a), cases.publishAck(a)) },
      sink: sinkFor(decisions, cases),
      lists: editor,
      deadLetter: (e) => decisions.publishDeadLetter(e),
      events: silentHooks(),
    });

    // The console's login publishes decisions (its own publisher, as the console does).
    const consoleNc = await connectAs('console');
    const decision = (decisionId: string, over: Partial<ReviewDecision> = {}): ReviewDecision => ({
      schemaVersion: 1,
      type: 'review_decision',
      decisionId,
      caseId: opened.record.caseId,
      streamId: 'perm-1',
      decision: 'escalate',
      reviewer: 'alice',
      decidedAt: new Date().toISOString(),
      source: 'console',
      ...over,
    });
    await jetstream(consoleNc).publish('screening.review.perm-1', JSON.stringify(decision('perm-d1')), { msgID: 'perm-d1' });
    await eventually(() => acks.find((a) => a.decisionId === 'perm-d1'), 10_000, 'the escalate ack');
    expect(acks.find((a) => a.decisionId === 'perm-d1')).toMatchObject({ result: 'applied', caseState: { priority: 'high' } });

    const addToList = decision('perm-d2', {
      decision: 'add-to-list',
      list: { id: 'review-added', action: 'escalate', hash: 'ab'.repeat(32) },
    });
    await jetstream(consoleNc).publish('screening.review.perm-1', JSON.stringify(addToList), { msgID: 'perm-d2' });
    await eventually(() => acks.find((a) => a.decisionId === 'perm-d2'), 15_000, 'the add-to-list ack');
    expect(acks.find((a) => a.decisionId === 'perm-d2')).toMatchObject({
      result: 'rejected',
      detail: expect.stringMatching(/^list_write_refused/),
    });

    // The one refusal in the server's log is the hash-list write the reference config withholds.
    const violations = log.split('\n').filter((l) => /Violation/.test(l));
    expect(violations.filter((l) => !/\$O\.screening-hashlists|OBJ_screening-hashlists|\$KV\.screening-cases\.listlock/.test(l))).toEqual(
      [],
    );
  }, 60_000);
});
