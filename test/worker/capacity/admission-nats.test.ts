/**
 * Measured admission on a real nats-server: a worker whose measured CPU leaves no room pulls
 * nothing, so a start stays in the shared consumer and a second worker takes it; with no second
 * worker, the start waits (counted) and is taken once the first worker's CPU falls. Nothing lost.
 * The governor is real; only its CPU source is fed (a worker's real load cannot be set on demand).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/index.js';
import { createCapacityGovernor, type CapacityGovernor } from '../../../src/worker/capacity/index.js';
import { createIngest } from '../../../src/worker/intake/index.js';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.js';
import { eventually } from '../../support/eventually.js';
import { harness, makeIngest, publishStart, Recorder, silent, testOptions, type Harness } from '../intake/helpers.js';

/** A real governor whose CPU reads what the test says (2 CPUs), on a clock that moves a second per sample. */
function fedGovernor(): { governor: CapacityGovernor; load(cpu: number, samples?: number): void } {
  let t = 0;
  let cpuSeconds = 0;
  const governor = createCapacityGovernor({
    options: resolveConfig({ worker: { maxStreams: 4 } }).stages.capacity,
    frameBudgetMs: 500,
    logger: silent,
    cpu: { cpusAvailable: () => 2, treeCpuSeconds: () => cpuSeconds },
    eventLoop: () => ({ idle: t, active: 0 }),
    now: () => t,
  });
  return {
    governor,
    load(cpu, samples = 12) {
      for (let i = 0; i < samples; i++) {
        t += 1000;
        cpuSeconds += cpu * 2;
        governor.sample();
      }
    },
  };
}

describe('measured admission on a real nats-server', () => {
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

  it('leaves a start to another worker while it has no room, and takes one again once its CPU falls', async () => {
    const tag = 'measured';
    const a = new Recorder();
    const fed = fedGovernor();
    const ingestA = createIngest({
      nc: h.nc,
      logger: silent,
      publisher: h.publisher,
      onAssignment: a.onAssignment,
      options: testOptions(tag, { worker: { maxStreams: 4 } }),
      workerId: 'worker-a',
      capacity: fed.governor,
    });
    await ingestA.start();
    const b = new Recorder();
    let ingestB: ReturnType<typeof makeIngest> | undefined;
    try {
      fed.load(0.3);
      await publishStart(h, tag, 'm-1');
      await eventually(() => a.assignments.length === 1, 10_000, 'worker A takes the first stream');

      // A's CPU now says full: its next pull is refused, and the start stays in the consumer.
      fed.load(0.9);
      expect(fed.governor.snapshot().admission).toEqual({ kind: 'full', reason: 'cpu' });
      // Admission is asked before each pull: the pull already waiting (pullExpiresMs, 1 s here) ends first.
      await new Promise((r) => setTimeout(r, 1_500));
      await publishStart(h, tag, 'm-2');
      const waiting = await eventually(async () => ((await ingestA.waitingStarts()) === 1 ? 1 : undefined), 10_000, 'm-2 waiting');
      expect(waiting).toBe(1);
      // Several samples (each wakes A's pull loop to look again) and still nothing taken.
      fed.load(0.9, 3);
      await new Promise((r) => setTimeout(r, 1_500));
      expect(a.assignments.map((x) => x.start.streamId)).toEqual(['m-1']);

      // A second worker with room takes it.
      ingestB = makeIngest(h, tag, b.onAssignment, { worker: { maxStreams: 4 } }, 'worker-b');
      await ingestB.start();
      await eventually(() => b.assignments.length === 1, 10_000, 'worker B takes the start A left');
      expect(b.assignments[0]!.start.streamId).toBe('m-2');
      await ingestB.stop();
      ingestB = undefined;

      // B is gone; A is still full: m-2 comes back (handed back on B's stop) and waits for A.
      await new Promise((r) => setTimeout(r, 1_500));
      expect(a.assignments).toHaveLength(1);
      fed.load(0.3);
      await eventually(() => a.assignments.length === 2, 10_000, 'worker A takes m-2 once its CPU falls');
      expect(a.assignments.map((x) => x.start.streamId)).toEqual(['m-1', 'm-2']);
      expect(await ingestA.waitingStarts()).toBe(0);
    } finally {
      await ingestB?.stop();
      await ingestA.stop();
    }
  }, 60_000);
});
