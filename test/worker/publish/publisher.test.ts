import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publisherOptions } from '../../support/stage-options.js';
import { JetStreamApiError, JetStreamError, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { ConnectionError, RequestError, TimeoutError, connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import type { EscalationEvent, KillSwitchEvent, ScreeningFailureEvent } from '../../../src/contracts/index.js';
import { LeaseLostError, PublishError } from '../../../src/domain/errors.js';
import { escalationEventId, failureEventId, killSwitchEventId } from '../../../src/domain/event-id.js';
import { retryVerdict } from '../../../src/nats/index.js';
import { createDecisionPublisher, type DecisionPublisher } from '../../../src/worker/publish/index.js';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.js';
import { createHooks } from '../../../src/domain/hooks.js';
import type { WorkerEvents } from '../../../src/worker/events.js';

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
    frame: { seq: frameSeq, pts: frameSeq / 2, capturedAt: new Date().toISOString() },
    decidedAt: new Date().toISOString(),
    latencyMs: 12,
    workerId: 'w-test',
  };
}

describe('decision publisher on a real nats-server', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let publisher: DecisionPublisher;

  beforeAll(async () => {
    server = await startNatsServer();
    // Reconnect forever and fast: the worker's own connection is configured the same way.
    nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    jsm = await jetstreamManager(nc);
    publisher = createDecisionPublisher({
      js: jetstream(nc),
      logger,
      options: publisherOptions({ publishTimeoutMs: 1000, retryBaseMs: 50, retryMaxMs: 500 }),
    });
    await publisher.provision();
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('stores a kill-switch on screening.killswitch.<id> with Nats-Msg-Id = eventId, once per id', async () => {
    const ev = killSwitch('stream-a', 7);
    const first = await publisher.publishKillSwitch(ev);
    expect(first).toMatchObject({ stream: 'SCREENING_DECISIONS', duplicate: false, attempts: 1 });
    const again = await publisher.publishKillSwitch(ev);
    expect(again).toMatchObject({ seq: first.seq, duplicate: true });

    const stored = await jsm.streams.getMessage('SCREENING_DECISIONS', { last_by_subj: 'screening.killswitch.stream-a' });
    expect(stored?.seq).toBe(first.seq);
    expect(stored?.header.get('Nats-Msg-Id')).toBe(ev.eventId);
    expect(stored?.header.get('Streamscreen-Event-Type')).toBe('killswitch');
    expect(stored?.json()).toEqual(ev);
    const info = await jsm.streams.info('SCREENING_DECISIONS');
    // Two publishes of one event id: one stored message.
    expect(info.state.messages).toBe(1);
    expect(info.config.duplicate_window).toBe(60 * 60 * 1e9);
  });

  it('gives different frames and different runs different ids, the same inputs the same id', () => {
    const base = { streamId: 's', runId: 'r1', frameSeq: 1, list: 'l', hash: 'a'.repeat(64) };
    expect(killSwitchEventId(base)).toBe(killSwitchEventId({ ...base }));
    expect(killSwitchEventId(base)).not.toBe(killSwitchEventId({ ...base, frameSeq: 2 }));
    // A takeover restarts frame numbering: the new run must not be deduped against the old one.
    expect(killSwitchEventId(base)).not.toBe(killSwitchEventId({ ...base, runId: 'r2' }));
    expect(failureEventId('s', 'r1', 'source_failed')).toMatch(/^fail-[0-9a-f]{32}$/);
  });

  it('publishes failures to screening.failure.<id> and dead letters to screening.deadletter', async () => {
    const failure: ScreeningFailureEvent = {
      schemaVersion: 1,
      type: 'failure',
      eventId: failureEventId('stream-b', 'run-1', 'source_failed'),
      streamId: 'stream-b',
      code: 'source_failed',
      message: 'source unreachable after 5 attempts',
      at: new Date().toISOString(),
      workerId: 'w-test',
    };
    const r = await publisher.publishFailure(failure);
    expect(r.stream).toBe('SCREENING_DECISIONS');
    const d = await publisher.publishDeadLetter({
      schemaVersion: 1,
      type: 'deadletter',
      eventId: 'dl-TEST-1',
      subject: 'streams.started.x',
      reason: 'invalid_json',
      issues: ['payload is not JSON'],
      payload: '{',
      payloadEncoding: 'utf8',
      receivedAt: new Date().toISOString(),
      workerId: 'w-test',
    });
    expect(d.stream).toBe('SCREENING_DEADLETTER');
    const stored = await jsm.streams.getMessage('SCREENING_DEADLETTER', { seq: d.seq });
    expect(stored?.subject).toBe('screening.deadletter');
  });

  it('routes shadow-mode decisions to the shadow subjects, never the live ones', async () => {
    const ks = { ...killSwitch('stream-shadow', 3), shadow: true };
    const esc: EscalationEvent = {
      schemaVersion: 1,
      type: 'escalation',
      eventId: escalationEventId('stream-shadow', 'run-1', 3, 'classifier'),
      streamId: 'stream-shadow',
      priority: 'high',
      reasons: [{ kind: 'classifier', signal: 'nsfw', score: 0.97, threshold: 0.9 }],
      frame: { seq: 3, pts: 1.5, capturedAt: new Date().toISOString() },
      decidedAt: new Date().toISOString(),
      latencyMs: 40,
      workerId: 'w-test',
      shadow: true,
    };
    const r1 = await publisher.publishKillSwitch(ks);
    const r2 = await publisher.publishEscalation(esc);
    expect((await jsm.streams.getMessage('SCREENING_DECISIONS', { seq: r1.seq }))?.subject).toBe(
      'screening.shadow.killswitch.stream-shadow',
    );
    expect((await jsm.streams.getMessage('SCREENING_DECISIONS', { seq: r2.seq }))?.subject).toBe(
      'screening.shadow.escalation.stream-shadow',
    );
    expect(await jsm.streams.getMessage('SCREENING_DECISIONS', { last_by_subj: 'screening.killswitch.stream-shadow' })).toBeNull();
    const live = await publisher.publishEscalation({ ...esc, eventId: escalationEventId('stream-shadow', 'run-1', 4), shadow: false });
    expect((await jsm.streams.getMessage('SCREENING_DECISIONS', { seq: live.seq }))?.subject).toBe('screening.escalation.stream-shadow');
  });

  it('refuses a stream id that is not a subject token instead of publishing to a wildcard', async () => {
    await expect(publisher.publishKillSwitch(killSwitch('a.>', 1))).rejects.toBeInstanceOf(PublishError);
  });

  it("gives up at once, non-retryably, on an event larger than the server's max_payload", async () => {
    // The server's default max_payload is 1 MiB; the client refuses to send more.
    const huge = { ...killSwitch('stream-huge', 1), metadata: { blob: 'x'.repeat(1_100_000) } };
    const err = await publisher.publishKillSwitch(huge).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PublishError);
    expect(err).toMatchObject({ retryable: false, code: 'publish_failed' });
    expect((err as Error).message).toMatch(/max_payload/);
    expect(await jsm.streams.getMessage('SCREENING_DECISIONS', { last_by_subj: 'screening.killswitch.stream-huge' })).toBeNull();
  });

  it("gives up non-retryably when JetStream refuses the message (4xx: over the stream's max_msg_size), and still publishes what fits", async () => {
    await jsm.streams.add({ name: 'TINY_DECISIONS', subjects: ['tiny.killswitch.*'], max_msg_size: 1024 });
    const tiny = createDecisionPublisher({
      js: jetstream(nc),
      logger,
      options: publisherOptions({ killSwitchSubjectPrefix: 'tiny.killswitch', publishTimeoutMs: 1000, retryBaseMs: 50, retryMaxMs: 500 }),
    });
    const big = { ...killSwitch('stream-big', 1), metadata: { blob: 'x'.repeat(2000) } };
    const err = await tiny.publishKillSwitch(big).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ name: 'PublishError', retryable: false });
    expect((err as Error).message).toMatch(/status 400, error 10054\): message size exceeds maximum allowed/);
    expect((err as Error).cause).toBeInstanceOf(JetStreamApiError);
    const fits = await tiny.publishKillSwitch(killSwitch('stream-big', 2));
    expect(fits).toMatchObject({ stream: 'TINY_DECISIONS', attempts: 1 });
  });

  it('classifies only refusals that cannot change as permanent; timeouts, no responders, connection loss and 503 retry', () => {
    const api = (code: number, errCode: number) => new JetStreamApiError({ code, err_code: errCode, description: `api ${code}` });
    // What nats.js raises when no stream captures the subject (JetStreamNotEnabled wrapping it).
    const noResponders = new JetStreamError('jetstream is not enabled', { cause: new RequestError("no responders: 'x'") });
    for (const transient of [
      new TimeoutError(),
      noResponders,
      new ConnectionError('connection refused'),
      api(503, 10077),
      api(503, 10047),
      api(409, 10158),
      api(404, 10059),
      new Error('something new'),
    ]) {
      expect(retryVerdict(transient), String(transient)).toEqual({ retryable: true });
    }
    for (const permanent of [api(400, 10054), api(400, 10060), api(400, 10003)]) {
      expect(retryVerdict(permanent)).toMatchObject({ retryable: false });
    }
    // Wrapped refusals are found through the cause chain.
    expect(retryVerdict(new RequestError('wrapped', { cause: api(400, 10054) }))).toMatchObject({ retryable: false });
  });

  it('keeps retrying through a server restart until the event is acked, and stores it once', async () => {
    const ev = killSwitch('stream-restart', 42);
    // restart() SIGKILLs the server before starting it again, so the first attempt goes nowhere.
    const restarting = server.restart();
    const receipt = await publisher.publishKillSwitch(ev);
    await restarting;
    expect(receipt.attempts).toBeGreaterThan(1);
    const stored = await jsm.streams.getMessage('SCREENING_DECISIONS', { last_by_subj: 'screening.killswitch.stream-restart' });
    expect(stored?.header.get('Nats-Msg-Id')).toBe(ev.eventId);
    // Still deduped after the restart: the server persisted the id with the message.
    const again = await publisher.publishKillSwitch(ev);
    expect(again).toMatchObject({ seq: receipt.seq, duplicate: true });
  });

  it('re-creates a deleted outbound stream and still delivers the event', async () => {
    await jsm.streams.delete('SCREENING_DECISIONS');
    const ev = killSwitch('stream-recreated', 1);
    const receipt = await publisher.publishKillSwitch(ev);
    expect(receipt.attempts).toBeGreaterThan(1);
    expect(receipt.stream).toBe('SCREENING_DECISIONS');
  });

  it('stops retrying only when the caller aborts, rejecting with the abort reason, and reports every retry', async () => {
    const retries: WorkerEvents['publish.retry'][] = [];
    const stranded = createDecisionPublisher({
      js: jetstream(nc),
      logger,
      events: createHooks<WorkerEvents>(undefined, { 'publish.retry': (e) => retries.push(e) }),
      // No stream captures this prefix and provisioning is off: every attempt fails.
      options: publisherOptions({
        killSwitchSubjectPrefix: 'nowhere.killswitch',
        provisionOnMissingStream: false,
        publishTimeoutMs: 300,
        retryBaseMs: 20,
        retryMaxMs: 50,
      }),
    });
    const ac = new AbortController();
    const pending = stranded.publishKillSwitch(killSwitch('stream-c', 1), { signal: ac.signal });
    let settled = false;
    pending.catch(() => undefined).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 400));
    expect(settled).toBe(false);
    ac.abort(new LeaseLostError('stream-c'));
    await expect(pending).rejects.toBeInstanceOf(LeaseLostError);
    // One report per failed attempt, numbered, for streamscreen_publish_retries_total{type}.
    expect(retries.length).toBeGreaterThan(1);
    expect(retries.map((r) => r.attempt)).toEqual(retries.map((_, i) => i + 1));
    expect(new Set(retries.map((r) => r.type))).toEqual(new Set(['killswitch']));
  });
});
