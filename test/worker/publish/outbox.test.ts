import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KillSwitchEvent } from '../../../src/contracts/index.js';
import { createHooks } from '../../../src/domain/hooks.js';
import { killSwitchEventId } from '../../../src/domain/event-id.js';
import type { WorkerEvents } from '../../../src/worker/events.js';
import {
  createDecisionPublisher,
  createDecisionRecorder,
  createOutbox,
  createOutboxStore,
  type DecisionPublisher,
  type Outbox,
} from '../../../src/worker/publish/index.js';
import { publisherOptions } from '../../support/stage-options.js';
import { eventually } from '../../support/eventually.js';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.js';

const logger = pino({ level: 'silent' });

function killSwitch(streamId: string, frameSeq: number): KillSwitchEvent {
  const hash = 'f'.repeat(64);
  return {
    schemaVersion: 1,
    type: 'killswitch',
    eventId: killSwitchEventId({ streamId, runId: 'run-1', frameSeq, list: 'test-list', hash }),
    streamId,
    reason: 'hash_match',
    match: { list: 'test-list', distance: 3, hash },
    frame: { seq: frameSeq, pts: frameSeq, capturedAt: new Date().toISOString() },
    decidedAt: new Date().toISOString(),
    latencyMs: 12,
    workerId: 'w-test',
  };
}

/** A pid no process has any more: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const records = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('outbox store: one file per decision, slots per process', () => {
  it('gives back what it kept, oldest first, after a close (the next process publishes it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outbox-store-'));
    const a = createOutboxStore({ dir, fsync: true, logger });
    await a.open();
    for (let i = 0; i < 3; i++)
      await a.write({ subject: `s.${i}`, type: 'killswitch', eventId: `e${i}`, payload: `{"i":${i}}`, recordedAt: 1000 + i });
    await expect(a.open()).rejects.toThrow(/already open/);
    await a.close();
    const b = createOutboxStore({ dir, fsync: true, logger });
    const back = await b.open();
    expect(back.map((r) => [r.eventId, r.subject, r.payload, r.replayed])).toEqual([
      ['e0', 's.0', '{"i":0}', true],
      ['e1', 's.1', '{"i":1}', true],
      ['e2', 's.2', '{"i":2}', true],
    ]);
    await b.remove(back[0]!);
    expect(records(join(dir, 'slot-0'))).toHaveLength(2);
    // New records continue the sequence rather than overwrite a pending one.
    const next = await b.write({ subject: 's.3', type: 'killswitch', eventId: 'e3', payload: '{}', recordedAt: 2000 });
    expect(next.seq).toBe(4);
    await b.close();
  });

  it("takes over a dead process's slot, leaves a live one's alone, and drops a write that never finished", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outbox-store-'));
    const rec = (eventId: string, at: number): string =>
      JSON.stringify({ v: 1, subject: 'x', type: 'killswitch', eventId, payload: '{}', recordedAt: at });
    // slot-0: a live process (our parent) holds it. slot-1: its process is gone, two records left.
    mkdirSync(join(dir, 'slot-0'));
    writeFileSync(join(dir, 'slot-0', 'lock'), JSON.stringify({ pid: process.ppid }));
    writeFileSync(join(dir, 'slot-0', '0000000000000001.json'), rec('live-1', 1));
    mkdirSync(join(dir, 'slot-1'));
    writeFileSync(join(dir, 'slot-1', 'lock'), JSON.stringify({ pid: deadPid() }));
    writeFileSync(join(dir, 'slot-1', '0000000000000001.json'), rec('orphan-1', 10));
    writeFileSync(join(dir, 'slot-1', '0000000000000002.json'), rec('orphan-2', 20));
    writeFileSync(join(dir, 'slot-1', '.0000000000000003.json.tmp'), '{"v":1,"subj');
    writeFileSync(join(dir, 'slot-1', '0000000000000004.json'), 'not json');

    const store = createOutboxStore({ dir, fsync: true, logger });
    const back = await store.open();
    expect(store.slotDir).toBe(join(dir, 'slot-1'));
    expect(back.map((r) => r.eventId)).toEqual(['orphan-1', 'orphan-2']);
    expect(readdirSync(join(dir, 'slot-1')).some((f) => f.endsWith('.tmp'))).toBe(false);
    // The unreadable record is kept aside for an operator, never silently dropped.
    expect(readdirSync(join(dir, 'rejected')).filter((f) => f.endsWith('.reason'))).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(dir, 'slot-1', 'lock'), 'utf8'))).toEqual(expect.objectContaining({ pid: process.pid }));
    await store.close();
  });
});

describe('outbox store: a running process adopts what a dead neighbour left', () => {
  it('claims a slot whose process died after it started, once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outbox-store-'));
    const store = createOutboxStore({ dir, fsync: true, logger });
    await store.open();
    expect(await store.adoptOrphans()).toEqual([]);
    mkdirSync(join(dir, 'slot-5'));
    writeFileSync(join(dir, 'slot-5', 'lock'), JSON.stringify({ pid: deadPid() }));
    writeFileSync(
      join(dir, 'slot-5', '0000000000000001.json'),
      JSON.stringify({ v: 1, subject: 'x', type: 'killswitch', eventId: 'left-behind', payload: '{}', recordedAt: 5 }),
    );
    expect((await store.adoptOrphans()).map((r) => r.eventId)).toEqual(['left-behind']);
    expect(await store.adoptOrphans()).toEqual([]);
    await store.close();
  });
});

describe('outbox on a real nats-server', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let publisher: DecisionPublisher;
  const open: Outbox[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    jsm = await jetstreamManager(nc);
    publisher = createDecisionPublisher({
      js: jetstream(nc),
      logger,
      options: publisherOptions({ publishTimeoutMs: 500, retryBaseMs: 50, retryMaxMs: 400 }),
    });
    await publisher.provision();
  });
  afterAll(async () => {
    await Promise.all(open.map((o) => o.close()));
    await nc?.close();
    await server?.stop();
  });

  const outboxAt = (dir: string, over: { maxEntries?: number; events?: string[] } = {}): Outbox => {
    const o = createOutbox({
      store: createOutboxStore({ dir, fsync: true, logger }),
      publish: (subject, type, eventId, payload, opts) => publisher.publishRecorded(subject, type, eventId, payload, opts),
      logger,
      limits: { maxEntries: over.maxEntries ?? 100, maxBytes: 1 << 20 },
      events: createHooks<WorkerEvents>(undefined, { 'outbox.event': (e) => over.events?.push(e.event) }),
    });
    open.push(o);
    return o;
  };
  const stored = async (streamId: string): Promise<KillSwitchEvent[]> => {
    const out: KillSwitchEvent[] = [];
    const { first_seq, last_seq } = (await jsm.streams.info('SCREENING_DECISIONS')).state;
    for (let seq = first_seq; seq <= last_seq && last_seq > 0; seq++) {
      const m = await jsm.streams.getMessage('SCREENING_DECISIONS', { seq }).catch(() => null);
      if (m?.subject === `screening.killswitch.${streamId}`) out.push(m.json<KillSwitchEvent>());
    }
    return out;
  };

  it('records at once with NATS down, publishes everything in order once it is back, each event once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
    const events: string[] = [];
    const outbox = outboxAt(dir, { events });
    await outbox.open();
    outbox.start();
    const recorder = createDecisionRecorder(publisher, outbox);
    await recorder.killSwitch(killSwitch('down-1', 0));
    await eventually(async () => (await stored('down-1')).length === 1 || undefined, 5000, 'first published');

    await server.kill();
    const t0 = Date.now();
    for (let i = 1; i <= 5; i++) await recorder.killSwitch(killSwitch('down-1', i));
    // Recording never waits for NATS.
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(outbox.depth).toBe(5);
    expect(records(join(dir, 'slot-0'))).toHaveLength(5);

    await server.restart();
    outbox.wake();
    expect(await outbox.flush(AbortSignal.timeout(10_000))).toBe(true);
    const all = await stored('down-1');
    expect(all.map((e) => e.frame!.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(new Set(all.map((e) => e.eventId)).size).toBe(6);
    expect(records(join(dir, 'slot-0'))).toHaveLength(0);
    expect(events.filter((e) => e === 'recorded')).toHaveLength(6);
    expect(events.filter((e) => e === 'published')).toHaveLength(6);
  });

  it('a record left by a process that stopped is published by the next one, with the same id (a duplicate is dropped by the server)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
    const first = outboxAt(dir);
    await first.open();
    // Never started: as if NATS had been away until this process died.
    await createDecisionRecorder(publisher, first).killSwitch(killSwitch('replay-1', 7));
    await publisher.publishKillSwitch(killSwitch('replay-1', 7)); // it had reached the server after all
    await first.close();

    const events: string[] = [];
    const second = outboxAt(dir, { events });
    await second.open();
    expect(second.depth).toBe(1);
    second.start();
    expect(await second.flush(AbortSignal.timeout(10_000))).toBe(true);
    expect((await stored('replay-1')).map((e) => e.frame!.seq)).toEqual([7]);
    expect(events).toEqual(['replayed', 'published']);
  });

  it('moves a decision JetStream refuses for good aside and goes on with the rest', async () => {
    await jsm.streams.add({ name: 'TINY', subjects: ['tiny.>'], max_msg_size: 64 });
    const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
    const events: string[] = [];
    const outbox = outboxAt(dir, { events });
    await outbox.open();
    outbox.start();
    await outbox.record('tiny.x', { type: 'killswitch', eventId: 'too-big' }, JSON.stringify({ pad: 'x'.repeat(500) }));
    await createDecisionRecorder(publisher, outbox).killSwitch(killSwitch('after-refused', 1));
    expect(await outbox.flush(AbortSignal.timeout(10_000))).toBe(true);
    expect(events.filter((e) => e !== 'recorded')).toEqual(['rejected', 'published']);
    expect(await stored('after-refused')).toHaveLength(1);
    expect(readdirSync(join(dir, 'rejected')).some((f) => f.endsWith('.reason'))).toBe(true);
  });

  it('past maxEntries keeps a decision in memory only, says so, and still publishes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
    const events: string[] = [];
    const outbox = outboxAt(dir, { maxEntries: 2, events });
    await outbox.open();
    const recorder = createDecisionRecorder(publisher, outbox);
    for (let i = 0; i < 3; i++) await recorder.killSwitch(killSwitch('full-1', i));
    expect(events).toEqual(['recorded', 'recorded', 'overflow']);
    expect(records(join(dir, 'slot-0'))).toHaveLength(2);
    expect(outbox.health()).toEqual({ ok: false, reasons: [expect.stringContaining('outbox full (3 decisions')] });
    outbox.start();
    expect(await outbox.flush(AbortSignal.timeout(10_000))).toBe(true);
    expect((await stored('full-1')).map((e) => e.frame!.seq)).toEqual([0, 1, 2]);
    expect(outbox.health().ok).toBe(true);
  });
});
