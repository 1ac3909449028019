import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/index.js';
import type { CaseRecord, StreamCases } from '../../../src/domain/cases.js';
import { openCaseStore, type KvCaseStore } from '../../../src/worker/cases/case-store.js';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.js';

const record = (caseId: string, revision: number, state: 'open' | 'closed' = 'open'): CaseRecord => ({
  caseId,
  streamId: 's1',
  reasonClass: 'classifier:explicit',
  revision,
  state,
  priority: 'normal',
  reasons: [{ kind: 'classifier', signal: 'explicit', score: 0.9, peak: 0.9, threshold: 0.9 }],
  policy: { version: 'v1', rule: 'explicit' },
  openedAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  storyboard: [],
  workerId: 'w1',
  publishedAt: 0,
});

const cases = (...records: CaseRecord[]): StreamCases => ({ cases: records, suppressed: {}, applied: {} });

describe('KV case store', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let a: KvCaseStore;
  let b: KvCaseStore;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await server.connect();
    const o = resolveConfig({}).stages.review;
    // Two workers' stores on one bucket.
    a = await openCaseStore(jetstream(nc), o);
    b = await openCaseStore(jetstream(nc), o);
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('keeps a stream’s cases for the next holder, with a TTL on the bucket', async () => {
    expect(await a.load('s1')).toEqual({ cases: [], suppressed: {}, applied: {} });
    await a.save('s1', cases(record('c1', 1)));
    expect((await b.load('s1')).cases.map((c) => [c.caseId, c.revision])).toEqual([['c1', 1]]);
    expect((await a.kv.status()).ttl).toBe(resolveConfig({}).stages.review.casesTtlMs);
  });

  it('merges instead of overwriting when another writer changed the entry in between (compare-and-swap)', async () => {
    await a.load('s2');
    await b.load('s2');
    await a.save('s2', { ...cases(record('c1', 2)), suppressed: { x: { until: 5, priority: 'normal' } } });
    // b read before a wrote: its save conflicts, and what is stored is both.
    const stored = await b.save('s2', { ...cases(record('c1', 1), record('c2', 1)), applied: { d1: { result: 'applied', at: 1 } } });
    expect(stored.cases.map((c) => [c.caseId, c.revision])).toEqual([
      ['c1', 2],
      ['c2', 1],
    ]);
    expect(stored.suppressed).toEqual({ x: { until: 5, priority: 'normal' } });
    expect(Object.keys(stored.applied)).toEqual(['d1']);
    expect((await a.load('s2')).cases).toHaveLength(2);
  });

  it('update() applies a change exactly against the latest entry, retrying after a conflict', async () => {
    await a.save('s3', cases(record('c1', 1)));
    let calls = 0;
    const result = await a.update('s3', async (current) => {
      calls++;
      // The first attempt loses a race to another writer.
      if (calls === 1) await b.save('s3', cases(record('c1', 5)));
      return {
        next: { ...current, cases: current.cases.map((c) => ({ ...c, revision: c.revision + 1 })) },
        value: current.cases[0]!.revision,
      };
    });
    expect(calls).toBe(2);
    expect(result).toBe(5);
    expect((await b.load('s3')).cases[0]!.revision).toBe(6);
  });

  it('treats an unreadable entry as empty rather than trusting it', async () => {
    await a.kv.put('s4', '{"v":2,"something":"else"}');
    expect(await a.load('s4')).toEqual({ cases: [], suppressed: {}, applied: {} });
  });
});
