/**
 * The governor against measures fed through its ports (CPU source, event loop, clock): admission
 * follows CPU, the event loop and budget breaches heard from the worker's events; degradation
 * steps with hysteresis; every change is an event and a log line.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { resolveConfig, type ConfigInput } from '../../../src/config/index.js';
import { createHooks } from '../../../src/domain/hooks.js';
import type { WorkerEvents } from '../../../src/worker/events.js';
import { createCapacityGovernor } from '../../../src/worker/capacity/index.js';

/** Fed measures: CPU share and event-loop share of each coming second, on a clock the test moves. */
function rig(worker: ConfigInput['worker'] = {}) {
  const options = resolveConfig({ worker }).stages.capacity;
  let t = 0;
  let cpuSeconds = 0;
  let loop = { idle: 0, active: 0 };
  const lines: { msg: string; state?: string; level?: number }[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as { msg: string });
        done();
      },
    }),
  );
  const seen: { name: string; payload: unknown }[] = [];
  const events = createHooks<WorkerEvents>(undefined, {
    'capacity.admission': (p) => seen.push({ name: 'admission', payload: p }),
    'capacity.degradation': (p) => seen.push({ name: 'degradation', payload: p }),
  });
  const governor = createCapacityGovernor({
    options,
    frameBudgetMs: 500,
    logger,
    events,
    cpu: { cpusAvailable: () => 2, treeCpuSeconds: () => cpuSeconds },
    eventLoop: () => loop,
    now: () => t,
  });
  /** Lets `seconds` pass at the given shares (CPU of 2 cores, event loop), sampling every second. */
  const run = (seconds: number, cpu: number, elu = 0.2): void => {
    for (let i = 0; i < seconds; i++) {
      t += 1000;
      cpuSeconds += cpu * 2;
      loop = { idle: loop.idle + (1 - elu) * 1000, active: loop.active + elu * 1000 };
      governor.sample();
    }
  };
  return { governor, run, lines, seen, options, tick: (ms: number) => (t += ms), now: () => t };
}

describe('capacity governor', () => {
  it('admits while CPU leaves room, stops at the limit with a log line and an event, and resumes below it', () => {
    const { governor, run, lines, seen } = rig();
    run(12, 0.5);
    expect(governor.snapshot().signals.cpu).toBeCloseTo(0.5, 5);
    expect(governor.admission(10)).toEqual({ kind: 'admitting' });
    run(12, 0.85);
    expect(governor.admission(10)).toEqual({ kind: 'full', reason: 'cpu' });
    expect(lines.find((l) => l.state === 'cpu')?.msg).toMatch(/not taking new streams: CPU/);
    expect(seen).toContainEqual({ name: 'admission', payload: { state: 'cpu', previous: 'admitting' } });
    // 0.74 + one stream at 0.05 is not below 0.76: still full, no flapping.
    run(12, 0.74);
    expect(governor.admission(10).kind).toBe('full');
    run(12, 0.6);
    expect(governor.admission(10)).toEqual({ kind: 'admitting' });
    expect(lines.filter((l) => /admitting streams again/.test(l.msg))).toHaveLength(1);
    expect(governor.snapshot().estimatedCapacity).toBe(Math.floor((10 * 0.8) / 0.6));
  });

  it("takes the host's busy share when other processes leave the worker less CPU than its own tree suggests", () => {
    const options = resolveConfig({}).stages.capacity;
    let t = 0;
    let tree = 0;
    let host = { busy: 0, total: 0 };
    const governor = createCapacityGovernor({
      options,
      frameBudgetMs: 500,
      logger: pino({ level: 'silent' }),
      cpu: { cpusAvailable: () => 2, treeCpuSeconds: () => tree, hostCpuSeconds: () => host },
      eventLoop: () => ({ idle: t * 0.8, active: t * 0.2 }),
      now: () => t,
    });
    const run = (seconds: number, treeShare: number, hostShare: number): void => {
      for (let i = 0; i < seconds; i++) {
        t += 1000;
        tree += treeShare * 2;
        host = { busy: host.busy + hostShare * 2, total: host.total + 2 };
        governor.sample();
      }
    };
    // The worker's own tree uses 40 % of its CPUs, the host is 90 % busy: full, by CPU.
    run(12, 0.4, 0.9);
    expect(governor.snapshot().signals.cpu).toBeCloseTo(0.9, 5);
    expect(governor.admission(10)).toEqual({ kind: 'full', reason: 'cpu' });
    // The others went away: the worker's own share counts again.
    run(12, 0.4, 0.4);
    expect(governor.snapshot().signals.cpu).toBeCloseTo(0.4, 5);
    expect(governor.admission(10)).toEqual({ kind: 'admitting' });
  });

  it('counts streams admitted lately at their expected cost until they settle', () => {
    const { governor, run, tick } = rig();
    run(12, 0.5);
    // 0.5 + n * 0.05 for the settling ones and the next: the 6th admission would reach 0.8.
    for (let i = 0; i < 5; i++) {
      expect(governor.admission(10 + i).kind).toBe('admitting');
      governor.admitted();
    }
    expect(governor.admission(15)).toEqual({ kind: 'full', reason: 'cpu' });
    tick(16_000);
    run(1, 0.5);
    expect(governor.admission(15).kind).toBe('admitting');
  });

  it('stops admitting on event-loop use and on budget breaches heard from the worker events', () => {
    const { governor, run } = rig();
    run(12, 0.3, 0.9);
    expect(governor.admission(5)).toEqual({ kind: 'full', reason: 'elu' });
    run(12, 0.3, 0.2);
    expect(governor.admission(5).kind).toBe('admitting');
    const hooks = createHooks<WorkerEvents>(undefined, governor.listeners);
    for (let i = 0; i < 100; i++) hooks.emit('pipeline.latency', { stage: 'decision', seconds: i < 3 ? 0.9 : 0.1 });
    // Not a decision: ignored.
    hooks.emit('pipeline.latency', { stage: 'hash', seconds: 9 });
    run(1, 0.3, 0.2);
    expect(governor.snapshot().signals.breaches).toBeCloseTo(0.03, 5);
    expect(governor.admission(5)).toEqual({ kind: 'full', reason: 'breaches' });
  });

  it('degrades one step per enterAfterMs of overload, refuses streams meanwhile, and steps back after leaveAfterMs of headroom', () => {
    const { governor, run, seen, lines } = rig();
    const changes: number[] = [];
    governor.degradation.onChange(() => changes.push(governor.degradation.level));
    // The first sample has nothing to compare with: overload counts from the second (t = 2 s), 15 s on.
    run(15, 0.97);
    expect(governor.degradation.level).toBe(0);
    run(2, 0.97);
    expect(governor.degradation.level).toBe(1);
    expect(governor.degradation.keyframesOnly).toBe(true);
    expect(governor.degradation.halfRate).toBe(false);
    expect(governor.admission(10)).toEqual({ kind: 'full', reason: 'degraded' });
    run(15, 0.97);
    expect(governor.degradation).toMatchObject({ level: 2, halfRate: true, classifiersOffForLowRisk: false });
    run(15, 0.97);
    expect(governor.degradation).toMatchObject({ level: 3, classifiersOffForLowRisk: true });
    run(60, 0.97);
    expect(governor.degradation.level).toBe(3);
    // Headroom once the 10 s CPU average is below 70 % (5 samples at 40 %); each step back needs 60 s more.
    run(64, 0.4);
    expect(governor.degradation.level).toBe(3);
    run(2, 0.4);
    expect(governor.degradation.level).toBe(2);
    run(120, 0.4);
    expect(governor.degradation.level).toBe(0);
    expect(changes).toEqual([1, 2, 3, 2, 1, 0]);
    expect(seen.filter((s) => s.name === 'degradation').map((s) => s.payload)).toEqual([
      { level: 1, previous: 0 },
      { level: 2, previous: 1 },
      { level: 3, previous: 2 },
      { level: 2, previous: 3 },
      { level: 1, previous: 2 },
      { level: 0, previous: 1 },
    ]);
    expect(lines.filter((l) => /degrading to level|back to level/.test(l.msg))).toHaveLength(6);
  });

  it('does not degrade when switched off, and in fixed mode admits up to the cap whatever the load', () => {
    const { governor, run } = rig({ admission: 'fixed', maxStreams: 3, capacity: { degrade: { enabled: false } } });
    run(120, 0.99, 0.99);
    expect(governor.degradation.level).toBe(0);
    expect(governor.admission(2).kind).toBe('admitting');
    expect(governor.admission(3)).toEqual({ kind: 'full', reason: 'cap' });
  });
});
