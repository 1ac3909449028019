/**
 * Starts waiting unscreened are counted: with every slot held, the starts nobody has taken show
 * in Ingest.waitingStarts() and in the streamscreen_starts_waiting gauge, and drop as a slot frees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/metrics/metrics.js';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.js';
import { eventually } from '../../support/eventually.js';
import { harness, makeIngest, publishStart, Recorder, type Harness } from './helpers.js';

describe('starts waiting unscreened', () => {
  let server: NatsServerHandle;
  let h: Harness;
  beforeAll(async () => {
    server = await startNatsServer();
    h = await harness(server.url);
  });
  afterAll(async () => {
    await h?.close();
    await server?.stop();
  });

  it('are counted while every slot is held, and the gauge reports them when scraped', async () => {
    const rec = new Recorder();
    const ingest = makeIngest(h, 'waiting', rec.onAssignment, { worker: { maxStreams: 1 } });
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.setStartsWaitingSource(() => ingest.waitingStarts());
    expect(await ingest.waitingStarts()).toBeUndefined();
    await ingest.start();
    try {
      for (const id of ['w-1', 'w-2', 'w-3', 'w-4']) await publishStart(h, 'waiting', id);
      await eventually(() => rec.assignments.length === 1, 10_000, 'one stream held');
      const waiting = await eventually(async () => ((await ingest.waitingStarts()) === 3 ? 3 : undefined), 10_000, 'three starts waiting');
      expect(waiting).toBe(3);
      expect(await metrics.registry.getSingleMetricAsString('streamscreen_starts_waiting')).toMatch(/^streamscreen_starts_waiting 3$/m);

      await rec.complete(rec.assignments[0]!);
      await eventually(() => rec.assignments.length === 2, 10_000, 'the next start taken');
      await eventually(async () => (await ingest.waitingStarts()) === 2, 10_000, 'two waiting');
    } finally {
      await ingest.stop();
    }
  }, 30_000);
});
