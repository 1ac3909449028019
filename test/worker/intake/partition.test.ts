import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publisherOptions } from '../../support/stage-options.js';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { LeaseLostError } from '../../../src/domain/errors.js';
import { createIngest, type Ingest } from '../../../src/worker/intake/index.js';
import { createDecisionPublisher } from '../../../src/worker/publish/index.js';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.js';
import { connectForTest, harness, makeIngest, publishStart, Recorder, silent, testOptions, type Harness } from './helpers.js';
import { eventually } from '../../support/eventually.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

describe('a worker cut off from NATS', () => {
  let server: NatsServerHandle;
  let h: Harness;
  let proxy: TcpProxy;
  let cutNc: NatsConnection;
  const ingests: Ingest[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    h = await harness(server.url);
    proxy = await startTcpProxy(server.port);
    cutNc = await connectForTest(proxy.url);
  });
  afterAll(async () => {
    proxy?.restore();
    await Promise.all(ingests.map((i) => i.stop()));
    await cutNc?.close().catch(() => undefined);
    await proxy?.close();
    await h?.close();
    await server?.stop();
  });

  it('keeps screening while cut off; stops once it sees the worker that took over, which keeps the stream', async () => {
    const recA = new Recorder();
    const abortedAt = new Map<string, number>();
    const a = createIngest({
      nc: cutNc,
      logger: silent,
      workerId: 'worker-cut-off',
      publisher: createDecisionPublisher({ js: jetstream(cutNc), logger: silent, options: publisherOptions() }),
      options: testOptions('p1'),
      onAssignment: async (asg) => {
        asg.signal.addEventListener('abort', () => abortedAt.set(asg.start.streamId, Date.now()), { once: true });
        return recA.onAssignment(asg);
      },
    });
    ingests.push(a);
    await a.start();
    await publishStart(h, 'p1', 'island');
    const asgA = await eventually(() => recA.for('island')[0], 10_000, 'A assigned');

    const recB = new Recorder();
    const b = makeIngest(h, 'p1', recB.onAssignment, {}, 'worker-connected');
    ingests.push(b);
    await b.start();

    const cutAt = Date.now();
    proxy.partition();
    // NATS is up for B: A's entry expires after the TTL (3 s) and B takes the stream over.
    const asgB = await eventually(() => recB.for('island')[0], 15_000, 'B took over', 20);
    const takenAt = Date.now();
    // A cannot tell a partition from NATS being down for everyone, so it has not stopped:
    // it stops only on evidence that someone else holds the stream.
    expect(asgA.signal.aborted).toBe(false);
    await expect(asgA.assertOwned()).resolves.toBeUndefined();

    proxy.restore();
    const restoredAt = Date.now();
    await eventually(() => abortedAt.has('island'), 10_000, 'A sees the new holder', 20);
    expect(recA.aborted.get(asgA)).toBeInstanceOf(LeaseLostError);
    await expect(asgA.assertOwned()).rejects.toBeInstanceOf(LeaseLostError);
    console.log(
      `partition: B took over ${takenAt - cutAt} ms after the cut; A stopped ${abortedAt.get('island')! - restoredAt} ms after it could reach NATS again`,
    );

    // A's stale acks/naks must not disturb B's hold.
    await new Promise((r) => setTimeout(r, 3000));
    expect(asgB.signal.aborted).toBe(false);
    await expect(asgB.assertOwned()).resolves.toBeUndefined();
    expect((await h.jsm.streams.info('STARTS_p1')).state.messages).toBe(1);
    expect(recA.for('island')).toHaveLength(1);
  });
});
