import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { publisherOptions } from '../../support/stage-options.js';
import { createHooks } from '../../../src/domain/hooks.js';
import type { WorkerEvents } from '../../../src/worker/events.js';
import type { StoredMsg } from '@nats-io/jetstream';
import type { DeadLetterEvent, ScreeningFailureEvent } from '../../../src/contracts/index.js';
import { LeaseLostError, SourceError } from '../../../src/domain/errors.js';
import { SourceFailedError } from '../../../src/worker/sampler/errors.js';
import { AssignmentAbortedError, createIngest, type Ingest, type ScreeningAssignment } from '../../../src/worker/intake/index.js';
import { killSwitchEventId } from '../../../src/domain/event-id.js';
import type { PublishReceipt } from '../../../src/nats/index.js';
import { createDecisionPublisher } from '../../../src/worker/publish/index.js';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.js';
import {
  delay,
  harness,
  leaseBucket,
  makeIngest,
  publishEnd,
  publishStart,
  Recorder,
  silent,
  testOptions,
  type Harness,
} from './helpers.js';
import { eventually } from '../../support/eventually.js';

describe('ingest on a real nats-server', () => {
  let server: NatsServerHandle;
  let h: Harness;
  const running: Ingest[] = [];

  const started = async (ingest: Ingest): Promise<Ingest> => {
    running.push(ingest);
    await ingest.start();
    return ingest;
  };

  beforeAll(async () => {
    server = await startNatsServer();
    h = await harness(server.url);
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((i) => i.stop()));
  });
  afterAll(async () => {
    await h?.close();
    await server?.stop();
  });

  const startsState = async (tag: string) => (await h.jsm.streams.info(`STARTS_${tag}`)).state;
  const consumerState = (tag: string) => h.jsm.consumers.info(`STARTS_${tag}`, `screeners_${tag}`);

  async function storedOn(stream: string, subjectFilter: (m: StoredMsg) => boolean): Promise<StoredMsg[]> {
    const { first_seq, last_seq } = (await h.jsm.streams.info(stream)).state;
    const out: StoredMsg[] = [];
    for (let seq = first_seq; seq <= last_seq && last_seq > 0; seq++) {
      const m = await h.jsm.streams.getMessage(stream, { seq });
      if (m && subjectFilter(m)) out.push(m);
    }
    return out;
  }

  it('assigns a valid start with a lease; a source_ended outcome acks the start and deletes the lease', async () => {
    const rec = new Recorder();
    const a = await started(makeIngest(h, 't1', rec.onAssignment, {}, 'worker-A'));
    await publishStart(h, 't1', 'live-1', {
      streamId: 'live-1',
      url: 'rtmp://media/live/1',
      startedAt: '2024-05-01T12:00:00Z',
      channel: 'c9',
    });

    const asg = await eventually(() => rec.for('live-1')[0], 10_000, 'assignment');
    expect(asg.start).toEqual({
      streamId: 'live-1',
      url: 'rtmp://media/live/1',
      startedAt: '2024-05-01T12:00:00Z',
      metadata: { channel: 'c9' },
    });
    expect(asg.workerId).toBe('worker-A');
    expect(a.activeStreams).toEqual(['live-1']);
    const kv = await leaseBucket(h, 't1');
    const lease = await kv.get('live-1');
    expect(lease?.json<{ workerId: string }>().workerId).toBe('worker-A');
    await expect(asg.assertOwned()).resolves.toBeUndefined();
    expect((await consumerState('t1')).num_ack_pending).toBe(1);

    // Held well past ack_wait (2 s): working() keeps it from being redelivered, renewals keep the lease.
    await delay(3000);
    expect((await consumerState('t1')).num_redelivered).toBe(0);
    expect((await kv.get('live-1'))!.revision).toBeGreaterThan(lease!.revision);

    await rec.complete(asg);
    expect(asg.signal.aborted).toBe(true);
    await eventually(async () => (await startsState('t1')).messages === 0, 10_000, 'start acked');
    expect((await kv.get('live-1'))?.operation).toBe('DEL');
    await eventually(() => a.activeStreams.length === 0, 10_000, 'slot freed');
  });

  it('dead-letters malformed, schema-invalid and mismatched starts with reason and payload, and terminates them', async () => {
    const rec = new Recorder();
    await started(makeIngest(h, 't2', rec.onAssignment));
    await publishStart(h, 't2', 'bad-json', '{"streamId": "bad-json", url');
    await publishStart(h, 't2', 'bad-schema', { streamId: 'bad-schema', startedAt: 'yesterday' });
    await publishStart(h, 't2', 'mismatch', { streamId: 'other', url: 'rtmp://x/y' });
    await publishStart(h, 't2', 'binary', new Uint8Array([0xff, 0x00, 0xfe]));
    await publishStart(h, 't2', 'huge', { streamId: 'huge', url: 'rtmp://x/y', notes: 'n'.repeat(70_000) });

    const mine = (m: StoredMsg): boolean => m.json<DeadLetterEvent>().eventId.startsWith('dl-STARTS_t2-');
    const letters = await eventually(
      async () => {
        const l = await storedOn('SCREENING_DEADLETTER', mine);
        return l.length >= 5 ? l : undefined;
      },
      10_000,
      '5 dead letters',
    );
    const bySubject = new Map(letters.map((m) => [m.json<DeadLetterEvent>().subject, m.json<DeadLetterEvent>()]));
    expect(bySubject.get('t2.started.bad-json')).toMatchObject({
      reason: 'invalid_json',
      payload: '{"streamId": "bad-json", url',
      payloadEncoding: 'utf8',
    });
    const schema = bySubject.get('t2.started.bad-schema')!;
    expect(schema.reason).toBe('schema_invalid');
    expect(schema.issues).toHaveLength(2); // url missing AND startedAt invalid, both reported
    expect(JSON.parse(schema.payload)).toEqual({ streamId: 'bad-schema', startedAt: 'yesterday' });
    expect(bySubject.get('t2.started.mismatch')).toMatchObject({
      reason: 'subject_mismatch',
      issues: ['streamId: body says "other" but the subject names "mismatch"'],
    });
    expect(bySubject.get('t2.started.binary')).toMatchObject({ reason: 'invalid_json', payload: '/wD+', payloadEncoding: 'base64' });
    const huge = bySubject.get('t2.started.huge')!;
    expect(huge.reason).toBe('too_large');
    expect(huge.issues[0]).toMatch(/^payload: 700\d\d bytes, start events are limited to 65536/);
    expect(huge.payload.startsWith('{"streamId":"huge"')).toBe(true);
    expect(letters[0]!.header.get('Nats-Msg-Id')).toBe(letters[0]!.json<DeadLetterEvent>().eventId);

    // Terminated: gone from the work queue, and not redelivered after ack_wait.
    await eventually(async () => (await startsState('t2')).messages === 0, 10_000, 'starts removed');
    await delay(2500);
    const ci = await consumerState('t2');
    expect({ pending: ci.num_pending, ackPending: ci.num_ack_pending, redelivered: ci.num_redelivered }).toEqual({
      pending: 0,
      ackPending: 0,
      redelivered: 0,
    });
    expect(await storedOn('SCREENING_DEADLETTER', mine)).toHaveLength(5);
    expect(rec.assignments).toHaveLength(0);
  });

  it('an unwritable dead-letter stream does not hold up valid starts; the invalid start comes back later and is dead-lettered then', async () => {
    // Dead letters for this tag go to a subject no stream captures until the test adds one.
    const blocked = createDecisionPublisher({
      js: h.js,
      logger: silent,
      options: publisherOptions({
        deadLetterSubject: 't16.deadletter',
        provisionOnMissingStream: false,
        publishTimeoutMs: 300,
        retryBaseMs: 50,
        retryMaxMs: 100,
      }),
    });
    const rec = new Recorder();
    const events: string[] = [];
    const deferred: Array<{ why: string; retryInMs: number; deliveryCount: number }> = [];
    await started(
      createIngest({
        nc: h.nc,
        logger: silent,
        publisher: blocked,
        onAssignment: rec.onAssignment,
        options: testOptions('t16', { ingest: { deadLetterTimeoutMs: 3000, retryDelayMs: 1000 } }),
        events: createHooks<WorkerEvents>(undefined, {
          'intake.assigned': (e) => events.push(`assigned ${e.streamId}`),
          'intake.deadLetter': (e) => events.push(`dead-lettered ${e.subject} ${e.reason}`),
          'intake.deadLetterDeferred': (e) => {
            events.push(`deferred ${e.subject}`);
            deferred.push(e);
          },
        }),
      }),
    );
    await publishStart(h, 't16', 'bad', '{not json');
    await publishStart(h, 't16', 'good');

    // The valid start is screened while the bad one's dead letter is still being retried.
    await eventually(() => rec.for('good')[0], 10_000, 'good assigned');
    await eventually(() => deferred[0], 10_000, 'dead letter deferred');
    expect(events.slice(0, 2)).toEqual(['assigned good', 'deferred t16.started.bad']);
    // Handed back with a delay from the retry rule: retryDelayMs 1000 at delivery 1 -> [500, 1000].
    expect(deferred[0]).toMatchObject({ why: 'timeout', deliveryCount: 1 });
    expect(deferred[0]!.retryInMs).toBeGreaterThanOrEqual(500);
    expect(deferred[0]!.retryInMs).toBeLessThanOrEqual(1000);
    expect((await startsState('t16')).messages).toBe(2); // not dropped

    await h.jsm.streams.add({ name: 'DL_t16', subjects: ['t16.deadletter'] });
    await eventually(() => events.includes('dead-lettered t16.started.bad invalid_json'), 15_000, 'bad start dead-lettered');
    const letter = await h.jsm.streams.getMessage('DL_t16', { last_by_subj: 't16.deadletter' });
    expect(letter?.json<DeadLetterEvent>()).toMatchObject({ reason: 'invalid_json', payload: '{not json' });
    await eventually(async () => (await startsState('t16')).messages === 1, 10_000, 'bad start terminated');
    expect(rec.for('good')[0]!.signal.aborted).toBe(false);
  });

  it('an end aborts the assignment (reason ended), acks the start and deletes the lease', async () => {
    const rec = new Recorder();
    const events: string[] = [];
    await started(
      makeIngest(h, 't3', rec.onAssignment, {}, undefined, {
        'intake.assigned': (e) => events.push(`assigned ${e.streamId}`),
        'intake.finished': (e) => events.push(`finished ${e.streamId} ${e.outcome}`),
      }),
    );
    await publishStart(h, 't3', 'ending');
    const asg = await eventually(() => rec.for('ending')[0], 10_000, 'assignment');
    await publishEnd(h, 't3', 'ending', { streamId: 'ending', endedAt: new Date().toISOString() });

    await eventually(() => rec.aborted.has(asg), 10_000, 'aborted');
    const reason = rec.aborted.get(asg);
    expect(reason).toBeInstanceOf(AssignmentAbortedError);
    expect((reason as AssignmentAbortedError).reason).toBe('ended');
    await eventually(async () => (await startsState('t3')).messages === 0, 10_000, 'start acked');
    const kv = await leaseBucket(h, 't3');
    await eventually(async () => (await kv.get('ending'))?.operation === 'DEL', 10_000, 'lease deleted');
    await expect(asg.assertOwned()).rejects.toBeInstanceOf(LeaseLostError);
    await eventually(() => events.length === 2, 10_000, 'finished event');
    expect(events).toEqual(['assigned ending', 'finished ending ended']);
  });

  it('recreates a dead ends follower with backoff, is unhealthy meanwhile, and a held stream still hears its end', async () => {
    const rec = new Recorder();
    const badEnds: string[] = [];
    const ingest = makeIngest(h, 't17', rec.onAssignment, {}, undefined, { 'intake.deadLetter': (e) => badEnds.push(e.subject) });
    expect(ingest.healthy()).toEqual({ ok: false, reasons: ['ingest not started'] });
    await started(ingest);
    expect(ingest.healthy()).toEqual({ ok: true, reasons: [] });
    await publishStart(h, 't17', 'held');
    const asg = await eventually(() => rec.for('held')[0], 10_000, 'assignment');
    // The follower reads ends up to sequence 2 of the first stream (an invalid end is observable).
    await publishEnd(h, 't17', 'other');
    await publishEnd(h, 't17', 'bad', { streamId: 'mismatch' });
    await eventually(() => badEnds.includes('t17.ended.bad'), 10_000, 'second end seen');

    // An operator deletes the ends stream: the follower's consumer goes with it.
    const endsConfig = (await h.jsm.streams.info('ENDS_t17')).config;
    await h.jsm.streams.delete('ENDS_t17');
    const sick = await eventually(
      () => {
        const health = ingest.healthy();
        return health.ok ? undefined : health;
      },
      10_000,
      'unhealthy',
    );
    expect(sick.reasons).toEqual([expect.stringMatching(/^not receiving stream ends \(\S+ follower down: /)]);
    expect(asg.signal.aborted).toBe(false);

    // Created again (sequences restart at 1) and the end published at once, possibly before the
    // follower is back: it is read from the new stream's start, so the end (seq 1) is not
    // skipped as already seen.
    await h.jsm.streams.add(endsConfig);
    await publishEnd(h, 't17', 'held');
    await eventually(() => rec.aborted.has(asg), 15_000, 'end heard');
    expect((rec.aborted.get(asg) as AssignmentAbortedError).reason).toBe('ended');
    await eventually(() => ingest.healthy().ok, 10_000, 'healthy again');
    await ingest.stop();
    expect(ingest.healthy()).toEqual({ ok: false, reasons: ['ingest stopping'] });
  });

  it('does not screen a start older than the last end, but screens a start announced after an end', async () => {
    // Both events wait in the streams before any worker runs (e.g. all workers were down).
    await h.publisher.provision();
    const rec = new Recorder();
    const first = makeIngest(h, 't4', rec.onAssignment);
    running.push(first);
    await first.start(); // provisions; nothing to screen yet
    await first.stop();
    await publishStart(h, 't4', 'gone');
    await publishEnd(h, 't4', 'gone');
    await publishEnd(h, 't4', 'again');
    await publishStart(h, 't4', 'again');

    await started(makeIngest(h, 't4', rec.onAssignment));
    await eventually(() => rec.for('again')[0], 10_000, 'restarted stream screened');
    await eventually(async () => (await startsState('t4')).messages === 1, 10_000, 'ended start acked');
    await delay(500);
    expect(rec.for('gone')).toHaveLength(0);
  });

  it('two ingests in one process: every stream is screened by exactly one of them', async () => {
    const recA = new Recorder();
    const recB = new Recorder();
    await started(makeIngest(h, 't5', recA.onAssignment, {}, 'worker-A'));
    await started(makeIngest(h, 't5', recB.onAssignment, {}, 'worker-B'));
    const ids = ['s1', 's2', 's3', 's4', 's5', 's6'];
    for (const id of ids) await publishStart(h, 't5', id);

    await eventually(() => recA.assignments.length + recB.assignments.length === ids.length, 10_000, 'all assigned');
    // Well past ack_wait and the lease TTL: no second worker ever picks one up.
    await delay(4500);
    const all = [...recA.assignments, ...recB.assignments];
    expect(all.map((a) => a.start.streamId).sort()).toEqual(ids);
    // maxConcurrentStreams 4 each: six streams need both workers.
    expect(recA.assignments.length).toBeGreaterThanOrEqual(2);
    expect(recB.assignments.length).toBeGreaterThanOrEqual(2);
    const kv = await leaseBucket(h, 't5');
    for (const a of all) {
      expect((await kv.get(a.start.streamId))?.json<{ workerId: string }>().workerId).toBe(a.workerId);
      expect(a.signal.aborted).toBe(false);
    }
  });

  it('a lost lease aborts the assignment, makes assertOwned throw, and the start is not acked', async () => {
    const rec = new Recorder();
    await started(makeIngest(h, 't6', rec.onAssignment, {}, 'worker-A'));
    await publishStart(h, 't6', 'stolen');
    const asg = await eventually(() => rec.for('stolen')[0], 10_000, 'assignment');
    const kv = await leaseBucket(h, 't6');
    // Someone else overwrites the lease (an operator, or a worker that judged it stale).
    await kv.put('stolen', JSON.stringify({ workerId: 'intruder', streamId: 'stolen', acquiredAt: '', renewedAt: '' }));

    await eventually(() => rec.aborted.has(asg), 3000, 'aborted');
    expect(rec.aborted.get(asg)).toBeInstanceOf(LeaseLostError);
    expect(asg.publishSignal.reason).toBeInstanceOf(LeaseLostError);
    await expect(asg.assertOwned()).rejects.toBeInstanceOf(LeaseLostError);
    // A late outcome from the stale owner must not ack: the start may be another worker's now.
    await rec.complete(asg);
    await delay(200);
    expect((await startsState('t6')).messages).toBe(1);

    // The intruder never renews: once its entry expires the stream comes back, under a new run id.
    const again = await eventually(() => rec.for('stolen')[1], 10_000, 're-assigned');
    expect(again.runId).not.toBe(asg.runId);
    expect((await kv.get('stolen'))?.json<{ workerId: string }>().workerId).toBe('worker-A');
  });

  it('a lease deleted behind its back is noticed, counted and created again: screening goes on', async () => {
    const rec = new Recorder();
    const anomalies: string[] = [];
    const ingest = await started(
      makeIngest(h, 't7', rec.onAssignment, {}, 'worker-A', { 'intake.leaseAnomaly': (e) => anomalies.push(`${e.streamId} ${e.kind}`) }),
    );
    await publishStart(h, 't7', 'deleted');
    const asg = await eventually(() => rec.for('deleted')[0], 10_000, 'assignment');
    const kv = await leaseBucket(h, 't7');
    await kv.delete('deleted');
    await eventually(() => anomalies.length > 0, 3000, 'anomaly');
    expect(anomalies).toEqual(['deleted vanished']);
    await eventually(async () => (await kv.get('deleted'))?.operation === 'PUT', 3000, 'lease recreated');
    expect((await kv.get('deleted'))?.json<{ workerId: string }>().workerId).toBe('worker-A');
    expect(asg.signal.aborted).toBe(false);
    await expect(asg.assertOwned()).resolves.toBeUndefined();
    // Readiness says so until the issue is older than the health window.
    expect(ingest.healthy()).toEqual({ ok: false, reasons: ['lease vanished on deleted'] });
  });

  it('graceful stop hands held streams to another worker at once (release + nak(0), not ack_wait)', async () => {
    // Timeouts far longer than the test waits: without the release + nak, B could only get the
    // stream after ack_wait (20 s) and, for the lease, its TTL (30 s). So B getting it within
    // the 10 s wait below proves the mechanism with no wall-clock margin to flake on a busy CI.
    const slow = { ingest: { ackWaitMs: 20_000, leaseTtlMs: 30_000 } };
    const recA = new Recorder();
    const recB = new Recorder();
    const takeovers: Array<string | undefined> = [];
    const a = await started(makeIngest(h, 't8', recA.onAssignment, slow, 'worker-A'));
    await publishStart(h, 't8', 'handover');
    const asgA = await eventually(() => recA.for('handover')[0], 10_000, 'A assigned');
    await started(makeIngest(h, 't8', recB.onAssignment, slow, 'worker-B', { 'intake.assigned': (e) => takeovers.push(e.tookOverFrom) }));

    await a.stop();
    expect((recA.aborted.get(asgA) as AssignmentAbortedError).reason).toBe('shutdown');
    const asgB = await eventually(() => recB.for('handover')[0], 10_000, 'B took over');
    // Redelivered once (the nak), and B found the lease released, not stale.
    expect(asgB.deliveryCount).toBe(2);
    expect(takeovers).toEqual([undefined]);
  });

  it('a screening that throws is escalated as a failure event; terminal errors ack, retryable ones retry', async () => {
    let calls = 0;
    const rec = new Recorder();
    await started(
      makeIngest(h, 't9', async (a: ScreeningAssignment) => {
        if (a.start.streamId === 'dead-source') throw new SourceError('source_failed', 'gave up after 5 attempts');
        if (a.start.streamId === 'flaky' && calls++ === 0)
          throw new SourceError('source_unreachable', 'connection refused', { retryable: true });
        return rec.onAssignment(a);
      }),
    );
    await publishStart(h, 't9', 'dead-source');
    await publishStart(h, 't9', 'flaky');

    const failure = await eventually(
      () => h.jsm.streams.getMessage('SCREENING_DECISIONS', { last_by_subj: 'screening.failure.dead-source' }).then((m) => m ?? undefined),
      10_000,
      'failure event',
    );
    expect(failure.json<ScreeningFailureEvent>()).toMatchObject({ type: 'failure', streamId: 'dead-source', code: 'source_failed' });
    // The stream key (last RTMP path segment) never leaves the worker.
    expect(failure.json<ScreeningFailureEvent>().url).toBe('rtmp://media/live/***');
    const flakyFailure = await eventually(
      () => h.jsm.streams.getMessage('SCREENING_DECISIONS', { last_by_subj: 'screening.failure.flaky' }).then((m) => m ?? undefined),
      10_000,
      'flaky failure event',
    );
    expect(flakyFailure.json<ScreeningFailureEvent>().code).toBe('source_unreachable');
    // Retryable: handed back with a delay and screened again.
    const retried = await eventually(() => rec.for('flaky')[0], 5000, 'flaky retried');
    expect(retried.deliveryCount).toBe(2);
    // Terminal: acked, never screened again; only the flaky start is still held.
    await eventually(async () => (await startsState('t9')).messages === 1, 10_000, 'terminal acked');
    expect(rec.for('dead-source')).toHaveLength(0);
  });

  it('a source that went away keeps its stream: reported once, probed again until it is back, then screened; an end stops the probing', async () => {
    const gone = (): SourceFailedError =>
      new SourceFailedError('rtmp://media/live/***', 3, new SourceError('source_unreachable', 'connection refused', { retryable: true }));
    const rec = new Recorder();
    const runIds: string[] = [];
    const probes: string[] = [];
    await started(
      makeIngest(
        h,
        't18',
        async (a: ScreeningAssignment) => {
          runIds.push(a.runId);
          // 'back' returns after two failed screenings; 'abandoned' never does.
          if (a.start.streamId === 'abandoned' || runIds.filter((r) => r.startsWith(runIds[0]!)).length <= 2) throw gone();
          return rec.onAssignment(a);
        },
        { ingest: { sourceProbeBaseMs: 200, sourceProbeMaxMs: 400 } },
        undefined,
        { 'intake.sourceProbe': (e) => probes.push(`${e.streamId} ${e.event} ${e.failures}`) },
      ),
    );
    await publishStart(h, 't18', 'back');
    const asg = await eventually(() => rec.for('back')[0], 5000, 'screened again');
    expect(probes).toEqual(['back waiting 1', 'back waiting 2']);
    // Every screening has its own run id: frame numbers start again, event ids must not repeat.
    expect(new Set(runIds).size).toBe(3);
    expect(asg.runId).toBe(`${runIds[0]}.3`);
    const failures = await storedOn('SCREENING_DECISIONS', (m) => m.subject === 'screening.failure.back');
    // Reported once, by the reason the source went (a source's failure event carries only that).
    expect(failures.map((m) => m.json<ScreeningFailureEvent>().code)).toEqual(['source_unreachable']);
    expect((await startsState('t18')).messages).toBe(1);

    await publishStart(h, 't18', 'abandoned');
    await eventually(() => probes.some((p) => p.startsWith('abandoned waiting 2')), 5000, 'probing');
    await publishEnd(h, 't18', 'abandoned');
    await eventually(async () => (await startsState('t18')).messages === 1, 5000, 'acked at its end');
    const tries = runIds.length;
    await delay(800);
    expect(runIds.length).toBe(tries);
  });

  it('a failure event the server refuses for good hands the start back with a delay, not in a tight loop', async () => {
    // Failure events for this tag go to a stream whose max_msg_size refuses every one of them.
    await h.jsm.streams.add({ name: 'FAIL_t15', subjects: ['t15.failure.*'], max_msg_size: 64 });
    const refusing = createDecisionPublisher({
      js: h.js,
      logger: silent,
      options: publisherOptions({ failureSubjectPrefix: 't15.failure', publishTimeoutMs: 1000 }),
    });
    const attempts: ScreeningAssignment[] = [];
    await started(
      createIngest({
        nc: h.nc,
        logger: silent,
        publisher: refusing,
        options: testOptions('t15', { ingest: { retryDelayMs: 1000 } }),
        onAssignment: async (a) => {
          attempts.push(a);
          throw new SourceError('source_failed', 'gave up');
        },
      }),
    );
    await publishStart(h, 't15', 'unreportable');
    await eventually(() => attempts[0], 10_000, 'first attempt');
    await eventually(() => attempts[1], 5000, 'retried');
    // Never acked or dropped; each retry waited retryDelayMs (1000) rather than going round at once.
    await delay(1500);
    expect(attempts.length).toBeLessThanOrEqual(4);
    expect(attempts.map((a) => a.deliveryCount)).toEqual(attempts.map((_, i) => i + 1));
    expect((await startsState('t15')).messages).toBe(1);
  });

  it('pulls only while below maxConcurrentStreams', async () => {
    const rec = new Recorder();
    await started(makeIngest(h, 't10', rec.onAssignment, { worker: { maxStreams: 1 } }));
    await publishStart(h, 't10', 'first');
    const first = await eventually(() => rec.assignments[0], 10_000, 'first');
    await publishStart(h, 't10', 'second');
    await delay(1500);
    expect(rec.assignments).toHaveLength(1);
    // Not even fetched: the second start waits in the stream, not in this worker's buffer.
    expect((await consumerState('t10')).num_pending).toBe(1);
    await rec.complete(first);
    const second = await eventually(() => rec.assignments[1], 10_000, 'second');
    expect(second.start.streamId).not.toBe(first.start.streamId);
  });

  it('an invalid end is dead-lettered and does not stop screening', async () => {
    const rec = new Recorder();
    await started(makeIngest(h, 't11', rec.onAssignment));
    await publishStart(h, 't11', 'keeps');
    const asg = await eventually(() => rec.for('keeps')[0], 10_000, 'assignment');
    const seq = await publishEnd(h, 't11', 'keeps', { streamId: 'someone-else' });
    const letter = await eventually(
      () => storedOn('SCREENING_DEADLETTER', (m) => m.json<DeadLetterEvent>().eventId === `dl-ENDS_t11-${seq}`).then((l) => l[0]),
      10_000,
      'dead letter',
    );
    expect(letter.json<DeadLetterEvent>()).toMatchObject({ reason: 'subject_mismatch', subject: 't11.ended.keeps' });
    await delay(300);
    expect(asg.signal.aborted).toBe(false);
  });

  it('a re-announced start with a new source restarts the screening on it', async () => {
    const rec = new Recorder();
    await started(makeIngest(h, 't12', rec.onAssignment));
    await publishStart(h, 't12', 'moved', { streamId: 'moved', url: 'rtmp://old/x' });
    const first = await eventually(() => rec.for('moved')[0], 10_000, 'first');
    await publishStart(h, 't12', 'moved', { streamId: 'moved', url: 'rtmp://new/x' });
    // The new start is delivered to some worker; here the only one, which is holding the stream.
    const second = await eventually(() => rec.for('moved')[1], 10_000, 'second');
    expect((rec.aborted.get(first) as AssignmentAbortedError).reason).toBe('superseded');
    expect(second.start.url).toBe('rtmp://new/x');
    expect((await startsState('t12')).messages).toBe(1);
  });

  it('a kill-switch still being retried when the stream ends is delivered within the abort grace', async () => {
    // Kill-switches go to a subject no stream captures yet: the publish retries until we add one.
    const stranded = createDecisionPublisher({
      js: h.js,
      logger: silent,
      options: publisherOptions({
        killSwitchSubjectPrefix: 't14.killswitch',
        provisionOnMissingStream: false,
        publishTimeoutMs: 300,
        retryBaseMs: 50,
        retryMaxMs: 100,
      }),
    });
    let signalAbortedFirst = false;
    const published: PublishReceipt[] = [];
    const rec = new Recorder();
    await started(
      makeIngest(
        h,
        't14',
        async (a) => {
          rec.assignments.push(a);
          await a.assertOwned();
          const hash = 'e'.repeat(64);
          const receipt = await stranded.publishKillSwitch(
            {
              schemaVersion: 1,
              type: 'killswitch',
              eventId: killSwitchEventId({ streamId: a.start.streamId, runId: a.runId, frameSeq: 1, list: 'l', hash }),
              streamId: a.start.streamId,
              reason: 'hash_match',
              match: { list: 'l', distance: 0, hash },
              frame: { seq: 1, pts: 0, capturedAt: new Date().toISOString() },
              decidedAt: new Date().toISOString(),
              latencyMs: 5,
              workerId: a.workerId,
            },
            { signal: a.publishSignal },
          );
          signalAbortedFirst = a.signal.aborted;
          published.push(receipt);
          return { kind: 'stopped' } as const;
        },
        { ingest: { abortGraceMs: 3000 } },
      ),
    );
    await publishStart(h, 't14', 'racing');
    const asg = await eventually(() => rec.for('racing')[0], 10_000, 'assignment');
    await publishEnd(h, 't14', 'racing');
    await eventually(() => asg.signal.aborted, 10_000, 'screening told to stop');
    expect(asg.publishSignal.aborted).toBe(false);
    await h.jsm.streams.add({ name: 'KILL_t14', subjects: ['t14.killswitch.*'] });
    await eventually(() => published[0], 10_000, 'kill-switch stored');
    expect(signalAbortedFirst).toBe(true);
    await eventually(async () => (await startsState('t14')).messages === 0, 10_000, 'start acked after the publish');
    expect((await h.jsm.streams.info('KILL_t14')).state.messages).toBe(1);
    expect(asg.publishSignal.aborted).toBe(true);
  });

  it('keeps its streams across a short server restart', async () => {
    const rec = new Recorder();
    const ingest = await started(makeIngest(h, 't13', rec.onAssignment, {}, 'worker-A'));
    await publishStart(h, 't13', 'survivor');
    const asg = await eventually(() => rec.for('survivor')[0], 10_000, 'assignment');
    const kv = await leaseBucket(h, 't13');
    const before = (await kv.get('survivor'))!.revision;
    await server.restart();
    // Renewals resume on the restored bucket (same revision chain, file storage).
    await eventually(
      async () => {
        const e = await kv.get('survivor').catch(() => null);
        return e !== null && e.revision > before + 1;
      },
      5000,
      'renewed after restart',
    );
    expect(asg.signal.aborted).toBe(false);
    await expect(asg.assertOwned()).resolves.toBeUndefined();
    expect(rec.assignments).toHaveLength(1);
    // The ends follower came back too: the stream still hears its end.
    await eventually(() => ingest.healthy().ok, 10_000, 'healthy after restart');
    await publishEnd(h, 't13', 'survivor');
    await eventually(() => rec.aborted.has(asg), 10_000, 'end heard after restart');
    expect((rec.aborted.get(asg) as AssignmentAbortedError).reason).toBe('ended');
  });
});
