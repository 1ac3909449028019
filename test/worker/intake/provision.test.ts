import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestOptions, publisherOptions } from '../../support/stage-options.js';
import { jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { millis, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { ConfigError } from '../../../src/domain/errors.js';
import { createIngest, provisionIngest } from '../../../src/worker/intake/index.js';
import { createDecisionPublisher } from '../../../src/worker/publish/index.js';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.js';
import { connectForTest } from './helpers.js';

const logger = pino({ level: 'silent' });

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
    const o = ingestOptions();
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
    expect(millis(ends.config.max_age)).toBe(o.endsMaxAgeMs);
    const consumer = await jsm.consumers.info('SCREENING_STARTS', 'screeners');
    expect(consumer.config).toMatchObject({ ack_policy: 'explicit', max_deliver: -1, max_ack_pending: 20_000 });
    expect(millis(consumer.config.ack_wait!)).toBe(4000);
    const bucket = await jsm.streams.info('KV_screening-leases');
    expect(bucket.config).toMatchObject({ max_msgs_per_subject: 1, allow_direct: false });
    expect(millis(bucket.config.max_age)).toBe(6000);

    await provisionIngest(js, ingestOptions({ ackWaitMs: 5000, leaseTtlMs: 9000 }));
    expect(millis((await jsm.consumers.info('SCREENING_STARTS', 'screeners')).config.ack_wait!)).toBe(5000);
    expect(millis((await jsm.streams.info('KV_screening-leases')).config.max_age)).toBe(9000);
  });

  it('refuses to run with timings that differ from the server when not provisioning', async () => {
    const ingest = createIngest({
      nc,
      logger,
      publisher: createDecisionPublisher({ js: jetstream(nc), logger, options: publisherOptions() }),
      onAssignment: async () => ({ kind: 'stopped' }),
      // The previous test left ack_wait 5000 / TTL 9000 on the server.
      options: ingestOptions({ provision: false, ackWaitMs: 4000, leaseTtlMs: 6000 }),
    });
    await expect(ingest.start()).rejects.toBeInstanceOf(ConfigError);
  });
});
