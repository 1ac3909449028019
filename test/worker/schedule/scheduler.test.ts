import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RawFrame } from '../../../src/domain/frame.js';
import { createHooks } from '../../../src/domain/hooks.js';
import type { FrameSignals } from '../../../src/domain/signals.js';
import type { WorkerEvents } from '../../../src/worker/events.js';
import {
  createInferenceScheduler,
  type DegradationView,
  type InferenceOutcome,
  type InferenceScheduler,
} from '../../../src/worker/schedule/index.js';
import { isLowRisk } from '../../../src/worker/schedule/risk.js';
import { capturingLogger } from '../../support/capture-logger.js';

// The scheduler's ordering is pure logic over a classify function; here that function is a
// stand-in the test controls (the real classifier behind it is covered in scheduler-pipeline.test.ts).

const BUDGET = 500;
const tick = () => new Promise<void>((r) => setImmediate(r));
const PROBE_MS = 10_000;

function frameOf(streamId: string, seq: number, capturedAt: number): RawFrame {
  return { streamId, seq, pts: seq, capturedAt, width: 1, height: 1, data: Buffer.alloc(3) };
}

interface Rig {
  scheduler: InferenceScheduler;
  /** Frames classify() was called with, in call order, as `stream:seq`. */
  started: string[];
  /** Sizes of the batches started. */
  batches: number[];
  shed: string[];
  /** Lets every classification started so far finish (with `signals`). */
  finishAll: (signals?: FrameSignals) => void;
  /** The same, each with its stream's signals. */
  finishAllWith: (signals: (stream: string) => FrameSignals) => void;
  running: () => number;
  clock: { t: number };
  degradedEvents: Array<{ streamId: string; degraded: boolean }>;
  lines: string[];
}

function rig(over: { maxBatch?: number; concurrency?: number; degradation?: DegradationView; fail?: (f: RawFrame) => boolean } = {}): Rig {
  const clock = { t: 1_000_000 };
  const started: string[] = [];
  const batches: number[] = [];
  const shed: string[] = [];
  const degradedEvents: Rig['degradedEvents'] = [];
  let waiters: Array<{ f: RawFrame; resolve: (s: FrameSignals) => void; reject: (e: unknown) => void }> = [];
  const events = createHooks<WorkerEvents>(undefined, {
    'schedule.batch': ({ size }) => batches.push(size),
    'pipeline.shed': ({ reason }) => shed.push(reason),
    'schedule.degraded': (e) => degradedEvents.push(e),
  });
  const { logger, lines } = capturingLogger('info');
  const finish = (signals: (stream: string) => FrameSignals): void => {
    const w = waiters;
    waiters = [];
    for (const x of w) {
      if (over.fail?.(x.f)) x.reject(new Error('session broke'));
      else x.resolve(signals(x.f.streamId));
    }
  };
  const scheduler = createInferenceScheduler({
    classify: (f) =>
      new Promise<FrameSignals>((resolve, reject) => {
        started.push(`${f.streamId}:${f.seq}`);
        waiters.push({ f, resolve, reject });
      }),
    options: {
      maxBatch: over.maxBatch ?? 1,
      concurrency: over.concurrency ?? 1,
      riskWindow: 3,
      degradeRiskFloor: 0.25,
      degradedProbeMs: PROBE_MS,
      frameBudgetMs: BUDGET,
    },
    ...(over.degradation ? { degradation: over.degradation } : {}),
    events,
    logger,
    now: () => clock.t,
  });
  return {
    scheduler,
    started,
    batches,
    shed,
    clock,
    degradedEvents,
    lines,
    running: () => waiters.length,
    finishAll: (signals = { nudity: { neutral: 1 } }) => finish(() => signals),
    finishAllWith: (signals) => finish(signals),
  };
}

/** Runs the rig until nothing is running or waiting, finishing each batch as it starts. */
async function drain(r: Rig, signals?: (stream: string) => FrameSignals): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    await tick();
    if (r.running() === 0 && r.scheduler.depth === 0) return;
    if (signals) r.finishAllWith(signals);
    else r.finishAll();
    await tick();
  }
  throw new Error('did not drain');
}

describe('inference scheduler', () => {
  it('starts the frame nearest its deadline first, whatever order they were submitted in (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 12 }), async (ages) => {
        const r = rig();
        // A blocker holds the classifiers while the others queue up.
        const blocker = r.scheduler.submit({ streamId: 'blocker', frame: frameOf('blocker', 0, r.clock.t) });
        await tick();
        const outcomes = ages.map((age, i) => r.scheduler.submit({ streamId: `s${i}`, frame: frameOf(`s${i}`, 0, r.clock.t - age) }));
        await drain(r);
        await blocker;
        const results = await Promise.all(outcomes);
        expect(results.every((o) => o.kind === 'classified')).toBe(true);
        // The oldest capture is closest to breaching its budget.
        const expected = ages.map((age, i) => ({ age, id: `s${i}:0` })).sort((a, b) => b.age - a.age);
        expect(r.started.slice(1)).toEqual(expected.map((e) => e.id));
      }),
      { numRuns: 40 },
    );
  });

  it('keeps one waiting frame per stream: a newer frame replaces it, and the replaced one is superseded and counted (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 20 }), async (streams) => {
        const r = rig();
        const blocker = r.scheduler.submit({ streamId: 'blocker', frame: frameOf('blocker', 0, r.clock.t) });
        await tick();
        const outcomes = streams.map((s, seq) => r.scheduler.submit({ streamId: s, frame: frameOf(s, seq, r.clock.t) }));
        await tick();
        const distinct = new Set(streams);
        expect(r.scheduler.depth).toBe(distinct.size);
        await drain(r);
        await blocker;
        const results = await Promise.all(outcomes);
        streams.forEach((s, seq) => {
          const latest = streams.lastIndexOf(s) === seq;
          expect(results[seq]!.kind).toBe(latest ? 'classified' : 'superseded');
        });
        expect(r.shed.filter((x) => x === 'superseded')).toHaveLength(streams.length - distinct.size);
      }),
      { numRuns: 40 },
    );
  });

  it('sheds a frame whose deadline passed while it waited, as a value, and counts it', async () => {
    const r = rig();
    const first = r.scheduler.submit({ streamId: 'a', frame: frameOf('a', 0, r.clock.t) });
    await tick();
    const late = r.scheduler.submit({ streamId: 'b', frame: frameOf('b', 0, r.clock.t) });
    r.clock.t += BUDGET + 1;
    await drain(r);
    expect(await first).toMatchObject({ kind: 'classified' });
    expect(await late).toEqual({ kind: 'shed', reason: 'classifiers_over_budget' });
    expect(r.shed).toEqual(['classifiers_over_budget']);
    expect(r.started).toEqual(['a:0']);
  });

  it('starts up to maxBatch waiting frames together, nearest deadlines first', async () => {
    const r = rig({ maxBatch: 3 });
    const blocker = r.scheduler.submit({ streamId: 'x', frame: frameOf('x', 0, r.clock.t) });
    await tick();
    const all = [5, 50, 10, 40, 20].map((age, i) => r.scheduler.submit({ streamId: `s${i}`, frame: frameOf(`s${i}`, 0, r.clock.t - age) }));
    await drain(r);
    await Promise.all([blocker, ...all]);
    expect(r.batches).toEqual([1, 3, 2]);
    expect(r.started.slice(1)).toEqual(['s1:0', 's3:0', 's4:0', 's2:0', 's0:0']);
  });

  it('runs `concurrency` batches at once, and no more', async () => {
    const r = rig({ concurrency: 2 });
    const all = ['a', 'b', 'c'].map((s) => r.scheduler.submit({ streamId: s, frame: frameOf(s, 0, r.clock.t) }));
    await tick();
    expect(r.running()).toBe(2);
    expect(r.scheduler.depth).toBe(1);
    await drain(r);
    expect((await Promise.all(all)).map((o) => o.kind)).toEqual(['classified', 'classified', 'classified']);
  });

  it('settles a failed classification as a value with its error', async () => {
    const r = rig({ fail: (f) => f.streamId === 'bad' });
    const bad = r.scheduler.submit({ streamId: 'bad', frame: frameOf('bad', 0, r.clock.t) });
    const good = r.scheduler.submit({ streamId: 'good', frame: frameOf('good', 0, r.clock.t) });
    await drain(r);
    const o = await bad;
    expect(o.kind === 'failed' && (o.error as Error).message).toBe('session broke');
    expect(await good).toMatchObject({ kind: 'classified', signals: { nudity: { neutral: 1 } } });
  });

  it('cancels a released stream’s waiting frame, and on close every waiting one and every later submit; running ones finish', async () => {
    const r = rig();
    const running = r.scheduler.submit({ streamId: 'a', frame: frameOf('a', 0, r.clock.t) });
    await tick();
    const waitingB = r.scheduler.submit({ streamId: 'b', frame: frameOf('b', 0, r.clock.t) });
    const waitingC = r.scheduler.submit({ streamId: 'c', frame: frameOf('c', 0, r.clock.t) });
    r.scheduler.release('b');
    expect(await waitingB).toEqual({ kind: 'cancelled' });
    const closed = r.scheduler.close();
    expect(await waitingC).toEqual({ kind: 'cancelled' });
    expect(await r.scheduler.submit({ streamId: 'd', frame: frameOf('d', 0, r.clock.t) })).toEqual({ kind: 'cancelled' });
    let done = false;
    void closed.then(() => (done = true));
    await tick();
    expect(done).toBe(false); // waits for the running batch
    r.finishAll();
    await closed;
    expect(await running).toMatchObject({ kind: 'classified' });
    expect(r.started).toEqual(['a:0']);
    expect(r.scheduler.depth).toBe(0);
  });
});

describe('inference scheduler under degradation', () => {
  const explicit = (score: number): FrameSignals => ({ nudity: { porn: score, neutral: 1 - score } });

  it('turns the classifiers off for the lower half of streams by recent risk, never for an open case or a score over the floor; logs each transition once', async () => {
    const view = { classifiersOffForLowRisk: false };
    const r = rig({ degradation: view });
    const risk: Record<string, number> = { low1: 0.01, low2: 0.02, mid: 0.05, high: 0.3, cased: 0.001, top: 0.2 };
    // First round: every stream classified once (an unknown stream is never low-risk).
    const round = (seq: number, openCase = (s: string) => s === 'cased') =>
      Object.keys(risk).map((s) => r.scheduler.submit({ streamId: s, frame: frameOf(s, seq, r.clock.t), openCase: openCase(s) }));
    const first = round(0);
    await drain(r, (s) => explicit(risk[s]!));
    expect((await Promise.all(first)).every((o) => o.kind === 'classified')).toBe(true);

    view.classifiersOffForLowRisk = true;
    const second = await drainRound(r, round(1), risk);
    const kinds = Object.fromEntries(Object.keys(risk).map((s, i) => [s, outcomeLabel(second[i]!)]));
    // The lower half of 6 is the 3 lowest by recent risk: cased (kept: an open case), low1 and low2.
    expect(kinds).toEqual({
      low1: 'shed:degraded_low_risk',
      low2: 'shed:degraded_low_risk',
      mid: 'classified',
      high: 'classified',
      cased: 'classified',
      top: 'classified',
    });
    const third = await drainRound(r, round(2), risk);
    expect(third.filter((o) => o.kind === 'shed')).toHaveLength(2);
    expect(r.shed.filter((x) => x === 'degraded_low_risk')).toHaveLength(4);
    expect(r.degradedEvents).toEqual([
      { streamId: 'low1', degraded: true },
      { streamId: 'low2', degraded: true },
    ]);
    expect(r.lines.filter((l) => l.includes('classifiers off for this low-risk stream'))).toHaveLength(2);

    view.classifiersOffForLowRisk = false;
    const back = await drainRound(r, round(3), risk);
    expect(back.every((o) => o.kind === 'classified')).toBe(true);
    expect(r.degradedEvents.slice(2)).toEqual([
      { streamId: 'low1', degraded: false },
      { streamId: 'low2', degraded: false },
    ]);
    expect(r.lines.filter((l) => l.includes('classifiers back on'))).toHaveLength(2);
  });

  it('still classifies a degraded stream every degradedProbeMs, and a probe that finds risk brings its classifiers back', async () => {
    const view = { classifiersOffForLowRisk: false };
    const r = rig({ degradation: view });
    const risk: Record<string, number> = { quiet: 0.01, busy: 0.1 };
    const round = (seq: number) => Object.keys(risk).map((s) => r.scheduler.submit({ streamId: s, frame: frameOf(s, seq, r.clock.t) }));
    await drainRound(r, round(0), risk);
    view.classifiersOffForLowRisk = true;
    // One frame a second for 20 s: `quiet` is classified only when its last classification is PROBE_MS old.
    const quietKinds: string[] = [];
    for (let seq = 1; seq <= 20; seq++) {
      r.clock.t += 1000;
      const [quiet] = await drainRound(r, round(seq), risk);
      quietKinds.push(outcomeLabel(quiet!));
    }
    expect(quietKinds.map((k, i) => (k === 'classified' ? i + 1 : 0)).filter((s) => s > 0)).toEqual([10, 20]);
    expect(r.degradedEvents).toEqual([{ streamId: 'quiet', degraded: true }]);
    // The next probe finds it explicit: it ranks above `busy` now and is classified on every frame.
    risk.quiet = 0.2;
    for (let seq = 21; seq <= 30; seq++) {
      r.clock.t += 1000;
      await drainRound(r, round(seq), risk);
    }
    const after: string[] = [];
    for (let seq = 31; seq <= 33; seq++) {
      r.clock.t += 1000;
      const [quiet] = await drainRound(r, round(seq), risk);
      after.push(outcomeLabel(quiet!));
    }
    expect(after).toEqual(['classified', 'classified', 'classified']);
    expect(r.degradedEvents.at(-1)).toEqual({ streamId: 'quiet', degraded: false });
  });

  it('never picks a stream with an open case, an unknown risk or a score at the floor, and at most half (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({
            streamId: fc.string({ minLength: 1, maxLength: 4 }),
            max: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
            openCase: fc.boolean(),
          }),
          { selector: (s) => s.streamId, maxLength: 20 },
        ),
        (streams) => {
          const picked = streams.filter((s) => isLowRisk(s.streamId, streams, 0.25));
          expect(picked.length).toBeLessThanOrEqual(Math.floor(streams.length / 2));
          for (const s of picked) {
            expect(s.openCase).toBe(false);
            expect(s.max).toBeDefined();
            expect(s.max!).toBeLessThan(0.25);
            // Nothing unpicked (and eligible) scores lower than a picked stream.
            for (const o of streams) {
              if (!picked.includes(o) && !o.openCase && o.max !== undefined) expect(o.max).toBeGreaterThanOrEqual(s.max!);
            }
          }
        },
      ),
    );
  });
});

function outcomeLabel(o: InferenceOutcome): string {
  return o.kind === 'shed' ? `shed:${o.reason}` : o.kind;
}

async function drainRound(r: Rig, outcomes: Promise<InferenceOutcome>[], risk: Record<string, number>): Promise<InferenceOutcome[]> {
  await drain(r, (s) => ({ nudity: { porn: risk[s]!, neutral: 1 - risk[s]! } }));
  return Promise.all(outcomes);
}
