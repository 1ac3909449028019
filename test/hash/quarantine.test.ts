/**
 * Flood quarantine: the pure record logic, then the shared state on a real nats-server (KV
 * bucket) with two workers' gates on their own connections, and the operator's release command.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HashMatch, QuarantineEvent } from '../../src/contracts/index.js';
import { run as hashlist } from '../../src/cli/commands/hashlist.js';
import { createQuarantineGate, recordMatch, releaseRecord, type QuarantineGate } from '../../src/hash/quarantine.js';
import { createKvQuarantineStore, openQuarantineBucket } from '../../src/hash/quarantine-kv.js';
import { createDecisionPublisher } from '../../src/worker/publish/index.js';
import { jetstream } from '@nats-io/jetstream';
import { pino } from 'pino';
import { captureIO } from '../support/capture-io.js';
import { eventually } from '../support/eventually.js';
import { collectEvents, type EventCollector } from '../support/jetstream-events.js';
import { publisherOptions } from '../support/stage-options.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

const options = { maxStreams: 3, windowMs: 60_000 };
const entry = { list: 'confirmed', hash: 'ab'.repeat(32) };
const match: HashMatch = { ...entry, label: 'case 9', distance: 4, action: 'kill' };

describe('quarantine records (pure)', () => {
  it('counts distinct streams within the window and quarantines past maxStreams', () => {
    let r = recordMatch(undefined, match, 's1', 1_000, options, 'w1');
    expect(r).toEqual({ ...entry, label: 'case 9', streams: { s1: 1_000 } });
    r = recordMatch(r, match, 's1', 2_000, options, 'w1'); // the same stream again: still one
    r = recordMatch(r, match, 's2', 3_000, options, 'w1');
    r = recordMatch(r, match, 's3', 4_000, options, 'w2');
    expect(r.quarantinedAt).toBeUndefined();
    expect(Object.keys(r.streams)).toEqual(['s3', 's2', 's1']);
    const q = recordMatch(r, match, 's4', 5_000, options, 'w2');
    expect(q.quarantinedAt).toBe(new Date(5_000).toISOString());
    expect(q.quarantinedBy).toBe('w2');
  });

  it('forgets streams older than the window', () => {
    let r = recordMatch(undefined, match, 's1', 0, options, 'w1');
    r = recordMatch(r, match, 's2', 10_000, options, 'w1');
    r = recordMatch(r, match, 's3', 20_000, options, 'w1');
    r = recordMatch(r, match, 's4', 60_001, options, 'w1'); // s1 (at 0) has left the window
    expect(r.quarantinedAt).toBeUndefined();
    expect(Object.keys(r.streams).sort()).toEqual(['s2', 's3', 's4']);
  });

  it('keeps a bounded number of stream ids however many streams match', () => {
    let r = recordMatch(undefined, match, 's0', 0, options, 'w1');
    for (let i = 1; i < 500; i++) r = recordMatch(r, match, `s${i}`, i, options, 'w1');
    expect(Object.keys(r.streams).length).toBeLessThanOrEqual(50);
    expect(r.streams).toHaveProperty('s499');
    expect(r.quarantinedAt).toBe(new Date(3).toISOString()); // the 4th distinct stream
  });

  it('a release clears the quarantine and starts the window afresh', () => {
    let r = recordMatch(undefined, match, 's1', 0, { maxStreams: 1, windowMs: 1_000 }, 'w1');
    r = recordMatch(r, match, 's2', 1, { maxStreams: 1, windowMs: 1_000 }, 'w1');
    expect(r.quarantinedAt).toBeDefined();
    const released = releaseRecord(r, 50, 'alice');
    expect(released).toEqual({ ...entry, label: 'case 9', streams: {}, releasedAt: new Date(50).toISOString(), releasedBy: 'alice' });
  });
});

describe('shared quarantine on nats-server', () => {
  let server: NatsServerHandle;
  const conns: NatsConnection[] = [];
  const gates: QuarantineGate[] = [];
  let events: EventCollector<QuarantineEvent>;

  const gate = async (workerId: string): Promise<QuarantineGate> => {
    const nc = await server.connect();
    conns.push(nc);
    const g = createQuarantineGate({ store: createKvQuarantineStore(await openQuarantineBucket(nc, 'q-test')), options, workerId });
    await g.start();
    gates.push(g);
    return g;
  };

  beforeAll(async () => {
    server = await startNatsServer();
    const nc = await server.connect();
    conns.push(nc);
    // The decisions stream the worker provisions (it holds screening.quarantine).
    await createDecisionPublisher({ js: jetstream(nc), logger: pino({ level: 'silent' }), options: publisherOptions() }).provision();
    events = await collectEvents<QuarantineEvent>(nc, 'SCREENING_DECISIONS', 'screening.quarantine');
  }, 30_000);

  afterAll(async () => {
    await events?.stop();
    for (const g of gates) g.stop();
    await Promise.all(conns.map((c) => c.close()));
    await server?.stop();
  });

  it('two workers counting the same entry at once: no stream lost, one of them quarantines it, both stop acting on it', async () => {
    const [w1, w2] = [await gate('w1'), await gate('w2')];
    // Three distinct streams, recorded concurrently by both workers: at the threshold, still acting.
    const first = await Promise.all([w1.screen('a', [match]), w2.screen('b', [match]), w1.screen('c', [match])]);
    expect(first.flatMap((r) => r.acting)).toHaveLength(3);
    // Two more streams at once: whichever write lands first crosses the threshold and alone
    // reports it; the other finds it quarantined when it retries its write. Neither acts.
    const second = await Promise.all([w1.screen('d', [match]), w2.screen('e', [match])]);
    const reported = second.flatMap((r) => r.newlyQuarantined);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ type: 'quarantine', state: 'quarantined', list: 'confirmed', hash: entry.hash, streams: 4 });
    expect(second.flatMap((r) => r.acting)).toEqual([]);
    expect(second.flatMap((r) => r.quarantined)).toEqual([match, match]);
    await eventually(() => (w1.isQuarantined(entry) && w2.isQuarantined(entry)) || undefined, 5_000, 'both workers to see it');
    const later = await w2.screen('f', [match]);
    expect(later).toEqual({ acting: [], quarantined: [match], newlyQuarantined: [] });

    const listed = captureIO();
    expect(await hashlist(['quarantined', '--json', '--nats-url', server.url, '--bucket', 'q-test'], listed.io)).toBe(0);
    expect(JSON.parse(listed.out())).toMatchObject({ list: 'confirmed', hash: entry.hash, label: 'case 9', streams: 4 });
  }, 30_000);

  it('an operator releases it: every worker acts on it again, and the release is reported', async () => {
    const [w1, w2] = gates as [QuarantineGate, QuarantineGate];
    const notHeld = captureIO();
    expect(await hashlist(['release', 'confirmed', 'cd'.repeat(32), '--nats-url', server.url, '--bucket', 'q-test'], notHeld.io)).toBe(1);
    expect(notHeld.err()).toMatch(/is not quarantined/);

    const c = captureIO();
    const code = await hashlist(
      ['release', 'confirmed', entry.hash.toUpperCase(), '--by', 'alice', '--nats-url', server.url, '--bucket', 'q-test'],
      c.io,
    );
    expect(c.err()).toBe('');
    expect(code).toBe(0);
    expect(c.out()).toMatch(/^released confirmed (ab){32}: it acts again on every worker/);
    await eventually(() => (!w1.isQuarantined(entry) && !w2.isQuarantined(entry)) || undefined, 5_000, 'both workers to release it');
    expect((await w1.screen('g', [match])).acting).toEqual([match]);

    const released = await events.waitFor((e) => e.state === 'released', 10_000);
    expect(released).toMatchObject({ list: 'confirmed', hash: entry.hash, by: 'alice', streams: 0 });
  }, 30_000);

  it('a worker that cannot write the shared state lets the match act (fails open) and says so', async () => {
    const nc = await server.connect();
    const kv = await openQuarantineBucket(nc, 'q-test');
    const g = createQuarantineGate({ store: createKvQuarantineStore(kv), options, workerId: 'w3' });
    await g.start();
    await nc.close();
    const other = { ...match, hash: 'ef'.repeat(32) };
    expect((await g.screen('z', [other])).acting).toEqual([other]);
    g.stop();
  });
});
