import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { millis, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { ConfigError } from '../../../src/domain/errors.js';
import { createIngest, DEFAULT_INGEST_OPTIONS, provisionIngest, resolveIngestOptions } from '../../../src/worker/intake/index.js';
import { createDecisionPublisher } from '../../../src/worker/publish/index.js';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.js';
import { connectForTest } from './helpers.js';

const logger = pino({ level: 'silent' });

describe('ingest options', () => {
  it('derives the heartbeat from ack_wait and the lease TTL', () => {
    expect(resolveIngestOptions().heartbeatMs).toBe(1000);
    expect(resolveIngestOptions({ ackWaitMs: 2000, leaseTtlMs: 3000 }).heartbeatMs).toBe(500);
  });

  it('lists every invalid setting at once', () => {
    let err: unknown;
    try {
      resolveIngestOptions({ leaseTtlMs: 1500, heartbeatMs: 900, maxConcurrentStreams: 0, startsSubjectPrefix: 'a.*' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const issues = (err as ConfigError).issues;
    expect(issues.some((i) => i.startsWith('maxConcurrentStreams'))).toBe(true);
    expect(issues.some((i) => i.includes('at most leaseTtlMs / 3'))).toBe(true);
    expect(issues.some((i) => i.startsWith('startsSubjectPrefix'))).toBe(true);
  });
});

describe('provisioning on a real nats-server', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectForTest(server.url);
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('creates the documented topology, is idempotent, and applies changed timings', async () => {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const o = resolveIngestOptions();
    await provisionIngest(js, o);
    await provisionIngest(js, o);

    const starts = await jsm.streams.info('SCREENING_STARTS');
    expect(starts.config).toMatchObject({
      subjects: ['streams.started.*'],
      retention: RetentionPolicy.Workqueue,
      max_msgs_per_subject: 1,
      storage: 'file',
    });
    const ends = await jsm.streams.info('SCREENING_ENDS');
    expect(ends.config).toMatchObject({ subjects: ['streams.ended.*'], retention: RetentionPolicy.Limits, max_msgs_per_subject: 1 });
    expect(millis(ends.config.max_age)).toBe(DEFAULT_INGEST_OPTIONS.endsMaxAgeMs);
    const consumer = await jsm.consumers.info('SCREENING_STARTS', 'screeners');
    expect(consumer.config).toMatchObject({ ack_policy: 'explicit', max_deliver: -1, max_ack_pending: 20_000 });
    expect(millis(consumer.config.ack_wait!)).toBe(4000);
    const bucket = await jsm.streams.info('KV_screening-leases');
    expect(bucket.config).toMatchObject({ max_msgs_per_subject: 1, allow_direct: false });
    expect(millis(bucket.config.max_age)).toBe(6000);

    await provisionIngest(js, resolveIngestOptions({ ackWaitMs: 5000, leaseTtlMs: 9000 }));
    expect(millis((await jsm.consumers.info('SCREENING_STARTS', 'screeners')).config.ack_wait!)).toBe(5000);
    expect(millis((await jsm.streams.info('KV_screening-leases')).config.max_age)).toBe(9000);
  });

  it('refuses to run with timings that differ from the server when not provisioning', async () => {
    const ingest = createIngest({
      nc,
      logger,
      publisher: createDecisionPublisher({ js: jetstream(nc), logger }),
      onAssignment: async () => ({ kind: 'stopped' }),
      // The previous test left ack_wait 5000 / TTL 9000 on the server.
      options: { provision: false, ackWaitMs: 4000, leaseTtlMs: 6000 },
    });
    await expect(ingest.start()).rejects.toBeInstanceOf(ConfigError);
  });
});
