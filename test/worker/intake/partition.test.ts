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

  it('gives the stream up before another worker can take it: never two screeners at once', async () => {
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
    const asgB = await eventually(() => recB.for('island')[0], 15_000, 'B took over', 20);
    const takenAt = Date.now();

    // A stopped on its own (local lease deadline: TTL 3000 - 2 x heartbeat 500 after its last
    // confirmed renewal), strictly before the server let B have the stream.
    expect(recA.aborted.get(asgA)).toBeInstanceOf(LeaseLostError);
    const aStoppedAt = abortedAt.get('island')!;
    console.log(`partition: A stopped after ${aStoppedAt - cutAt} ms, B took over after ${takenAt - cutAt} ms`);
    expect(aStoppedAt).toBeLessThan(takenAt);
    expect(aStoppedAt - cutAt).toBeLessThan(3000);
    expect(asgA.publishSignal.aborted).toBe(true);
    await expect(asgA.assertOwned()).rejects.toBeInstanceOf(LeaseLostError);

    // When A's network comes back its stale acks/naks must not disturb B's hold.
    proxy.restore();
    await new Promise((r) => setTimeout(r, 3000));
    expect(asgB.signal.aborted).toBe(false);
    await expect(asgB.assertOwned()).resolves.toBeUndefined();
    expect((await h.jsm.streams.info('STARTS_p1')).state.messages).toBe(1);
    expect(recA.for('island')).toHaveLength(1);
  });
});
