import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckPolicy, jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { StreamscreenError } from '../../src/domain/errors.js';
import {
  consumeEvents,
  ensureConsumer,
  ensureStream,
  settle,
  settlementForError,
  type InvalidMessage,
  type Settlement,
} from '../../src/nats/index.js';
import { eventually } from '../support/eventually.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

const logger = pino({ level: 'silent' });

describe('settlement table', () => {
  it('turns each settlement into exactly one JetStream call', () => {
    const calls: string[] = [];
    const msg = { ack: () => calls.push('ack'), nak: (d?: number) => calls.push(`nak ${d}`), term: () => calls.push('term') };
    const cases: Settlement[] = [{ kind: 'ack' }, { kind: 'nak', delayMs: 1500, reason: 'x' }, { kind: 'term', reason: 'y' }];
    for (const s of cases) settle(msg, s);
    expect(calls).toEqual(['ack', 'nak 1500', 'term']);
  });

  it('naks retryable errors with a delay that grows per delivery, and terms terminal ones', () => {
    const retry = new StreamscreenError('nats_connect_failed', 'later', { retryable: true });
    const never = new StreamscreenError('config_invalid', 'never');
    const first = settlementForError(retry, 1, 1000, 60_000);
    const fifth = settlementForError(retry, 5, 1000, 60_000);
    expect(first.kind).toBe('nak');
    expect(fifth.kind).toBe('nak');
    if (first.kind === 'nak' && fifth.kind === 'nak') {
      expect(first.delayMs).toBeLessThanOrEqual(1000);
      expect(fifth.delayMs).toBeGreaterThanOrEqual(8000);
    }
    expect(settlementForError(never, 1, 1000, 60_000)).toEqual({ kind: 'term', reason: 'never' });
  });
});

describe('consumeEvents on a real JetStream', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let js: JetStreamClient;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await server.connect();
    js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, { name: 'T', subjects: ['t.*'] });
    await ensureConsumer(jsm, 'T', { durable_name: 'c', ack_policy: AckPolicy.Explicit, ack_wait: 5_000_000_000 });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('hands valid events to the handler, dead-letters invalid ones once, and redelivers a nak', async () => {
    const handled: string[] = [];
    const dead: InvalidMessage[] = [];
    let failOnce = true;
    const consumer = await consumeEvents<{ n: number }>({
      js,
      logger,
      stream: 'T',
      consumer: 'c',
      retryInitialDelayMs: 50,
      retryMaxDelayMs: 100,
      parse: (_subject, data) => {
        const v = JSON.parse(new TextDecoder().decode(data)) as { n?: unknown };
        return typeof v.n === 'number' ? { ok: true, value: { n: v.n } } : { ok: false, reason: 'schema_invalid', issues: ['n: required'] };
      },
      handle: async (e, meta) => {
        if (e.n === 2 && failOnce) {
          failOnce = false;
          throw new StreamscreenError('nats_connect_failed', 'try later', { retryable: true });
        }
        handled.push(`${e.n}@${meta.deliveryCount}`);
        return { kind: 'ack' };
      },
      deadLetter: async (m) => void dead.push(m),
    });
    await js.publish('t.a', JSON.stringify({ n: 1 }));
    await js.publish('t.b', JSON.stringify({ n: 2 }));
    await js.publish('t.c', JSON.stringify({ nope: true }));
    await eventually(() => handled.length === 2 && dead.length === 1, 10_000, 'two handled, one dead letter');
    await consumer.stop();
    expect(handled.sort()).toEqual(['1@1', '2@2']);
    expect(dead[0]).toMatchObject({ subject: 't.c', reason: 'schema_invalid', issues: ['n: required'] });
    const info = await (await jetstreamManager(nc)).consumers.info('T', 'c');
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
  });
});
