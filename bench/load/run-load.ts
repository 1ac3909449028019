/**
 * Load benchmark: how many concurrent live 720p30 streams one worker decides within the
 * per-frame budget with nothing shed, per decoding mode, and what each stream costs.
 *
 * Everything is real and on 127.0.0.1: nats-server with JetStream, Debian's nginx with its RTMP
 * module as the ingest server, one `ffmpeg -re -stream_loop -1 -c copy` source per stream from a
 * pre-encoded clip (H.264, B-frames, 2 s GOP, 3 Mbit/s: the sources cost almost nothing), and the
 * worker started as its own process exactly as deployed (`node dist/src/cli.js worker`) with the
 * default models and a kill list of 1M hashes. For each mode (`auto`: keyframes of the 2 s GOP;
 * `all`: every frame decoded, 1 fps) the number of streams is ramped; at each step, after a
 * warm-up, every frame's capture-to-decision latency comes from the worker's per-frame debug line
 * ("frame screened": decisions are published only on matches), its source-to-decision latency
 * from the frame's pts on the source's timeline, CPU and memory (PSS) of the worker and its ffmpeg children
 * from /proc, and shed frames and budget breaches from its /metrics.
 *
 *   npm run bench:load [-- --steps 4,8,16,24,32,40,48] [--step-seconds 30] [--warmup-seconds 10]
 *                         [--modes auto,all] [--hashes 1000000] [--stop-after 1]
 *                         [--admission measured [--offer 60] [--admission-seconds 60]]
 *
 * The ramp forces the N it measures: the worker runs with `admission: fixed`, maxStreams the
 * largest step and degradation off, so each step is raw capacity. `--admission measured` adds,
 * per mode, a run of a fresh worker with measured admission (and degradation) offered `--offer`
 * streams (default 1.5 x the largest step): after `--admission-seconds` it reports how many the
 * worker admitted, its admission state and degradation level, and whether the admitted streams
 * stayed within the budget (the rest wait in the consumer, as they would for another worker).
 *
 * The same settings can come from BENCH_LOAD_STEPS, BENCH_LOAD_STEP_SECONDS, BENCH_LOAD_WARMUP_SECONDS,
 * BENCH_LOAD_MODES, BENCH_LOAD_HASHES. A mode stops ramping after `--stop-after` steps over budget.
 * Writes bench-results/load.json and bench-results/load.svg. Needs `npm run build` first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { cutLifeline, spawnWithLifeline, terminate, type LifelineChild } from '../../src/worker/sampler/lifeline.js';
import { freePort } from '../../test/support/free-port.js';
import { startNatsServer, type NatsServerHandle } from '../../test/support/nats-server.js';
import { parseExposition } from '../../test/support/prom-text.js';
import { loadChart } from './chart.js';
import { ensureClip, ensureHashList } from './inputs.js';
import { startNginxRtmp, type NginxRtmp } from '../../test/support/nginx-rtmp.js';
import { sampleTree, type TreeSample } from './proc-stats.js';
import { startPublisher, type Publisher } from './publishers.js';

type Mode = 'auto' | 'all';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: process.env.BENCH_LOAD_STEPS ?? '4,8,16,24,32,40,48' },
    'step-seconds': { type: 'string', default: process.env.BENCH_LOAD_STEP_SECONDS ?? '30' },
    'warmup-seconds': { type: 'string', default: process.env.BENCH_LOAD_WARMUP_SECONDS ?? '10' },
    modes: { type: 'string', default: process.env.BENCH_LOAD_MODES ?? 'auto,all' },
    hashes: { type: 'string', default: process.env.BENCH_LOAD_HASHES ?? '1000000' },
    'stop-after': { type: 'string', default: '1' },
    'budget-ms': { type: 'string', default: '500' },
    'clip-seconds': { type: 'string', default: '20' },
    ffmpeg: { type: 'string', default: '/usr/bin/ffmpeg' },
    note: { type: 'string', default: '' },
    admission: { type: 'string', default: process.env.BENCH_LOAD_ADMISSION ?? 'fixed' },
    offer: { type: 'string', default: '' },
    'admission-seconds': { type: 'string', default: '60' },
  },
});
const steps = values.steps.split(',').map(Number);
const stepSeconds = Number(values['step-seconds']);
const warmupSeconds = Number(values['warmup-seconds']);
const modes = values.modes.split(',') as Mode[];
const hashCount = Number(values.hashes);
const stopAfter = Number(values['stop-after']);
const budgetMs = Number(values['budget-ms']);
const measuredAdmission = values.admission === 'measured';
if (!['fixed', 'measured'].includes(values.admission)) throw new Error('--admission: fixed or measured');
const offer = values.offer ? Number(values.offer) : Math.ceil(steps.at(-1)! * 1.5);
const admissionSeconds = Number(values['admission-seconds']);
const GOP_SECONDS = 2;
const FPS = 1;
if (!steps.every((n) => Number.isInteger(n) && n > 0) || steps.some((n, i) => i > 0 && n <= steps[i - 1]!)) {
  throw new Error('--steps must be increasing positive integers, e.g. 4,8,16');
}
if (!modes.every((m) => m === 'auto' || m === 'all')) throw new Error('--modes: auto and/or all');
for (const [k, v] of Object.entries({ stepSeconds, warmupSeconds, hashCount, stopAfter, budgetMs, offer, admissionSeconds })) {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${k} must be a positive number`);
}

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'dist', 'src', 'cli.js');

interface FrameRecord {
  readonly streamId: string;
  readonly pts: number;
  readonly capturedAt: number;
  readonly latencyMs: number;
}

interface Step {
  readonly mode: Mode;
  readonly streams: number;
  readonly seconds: number;
  readonly frames_decided: number;
  readonly frames_expected: number;
  readonly p50_frame_to_decision_ms: number;
  readonly p95_frame_to_decision_ms: number;
  readonly p99_frame_to_decision_ms: number;
  readonly p50_source_to_decision_ms: number;
  readonly p99_source_to_decision_ms: number;
  readonly cpu_pct_total: number;
  readonly cpu_pct_per_stream: number;
  /** Proportional set size of the worker and its ffmpeg processes (summed RSS where PSS is unavailable). */
  readonly memory_mb: number;
  readonly memory_mb_per_stream: number;
  readonly frames_shed: number;
  readonly budget_breaches: number;
  readonly decoders: number;
  readonly streams_keyframes_only: number;
  readonly within_budget: boolean;
  /** `fixed`: the ramp forces N; `measured`: `offered` streams, of which the worker admitted `streams`. */
  readonly admission: 'fixed' | 'measured';
  readonly offered: number;
  /** The worker's admission state at the end of the step (`admitting` or why it is full). */
  readonly admission_state: string;
  readonly degradation_level: number;
  /** The worker's own estimate (streamscreen_measured_capacity_streams). */
  readonly measured_capacity: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
const r0 = (v: number): number => Math.round(v);
const r1 = (v: number): number => Math.round(v * 10) / 10;

/** The worker as its own process, its per-frame debug lines collected. */
class WorkerProcess {
  readonly frames: FrameRecord[] = [];
  private readonly child: LifelineChild;
  private rest = '';
  errors: string[] = [];

  constructor(
    configFile: string,
    readonly metricsPort: number,
  ) {
    this.child = spawnWithLifeline(process.execPath, [CLI, 'worker', '--config', configFile]);
    this.child.stdout.resume();
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => this.onText(text));
    this.child.on('close', () => cutLifeline(this.child));
  }

  /** The wrapper's pid: the root of the worker's process tree (node, its ffmpeg runs). */
  get pid(): number {
    return this.child.pid!;
  }

  private onText(text: string): void {
    const lines = (this.rest + text).split('\n');
    this.rest = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      let rec: { msg?: string; level?: number; streamId?: string; pts?: number; capturedAt?: number; latencyMs?: number };
      try {
        rec = JSON.parse(line) as typeof rec;
      } catch {
        continue;
      }
      if (
        rec.msg === 'frame screened' &&
        rec.streamId &&
        rec.pts !== undefined &&
        rec.capturedAt !== undefined &&
        rec.latencyMs !== undefined
      ) {
        this.frames.push({ streamId: rec.streamId, pts: rec.pts, capturedAt: rec.capturedAt, latencyMs: rec.latencyMs });
      } else if ((rec.level ?? 0) >= 50 && this.errors.length < 20) {
        this.errors.push(line.slice(0, 400));
      }
    }
  }

  async metrics(): Promise<ReturnType<typeof parseExposition>> {
    const res = await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`);
    return parseExposition(await res.text());
  }

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${this.metricsPort}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return;
      if (this.child.exitCode !== null) throw new Error(`worker exited: ${this.errors.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`worker not ready after ${timeoutMs} ms: ${this.errors.join('\n')}`);
      await sleep(500);
    }
  }

  stop(): Promise<void> {
    return terminate(this.child, { graceful: true, graceMs: 10_000 });
  }
}

/** Sum of every sample of a metric family (all label sets). */
function total(m: ReturnType<typeof parseExposition>, name: string, labels: Record<string, string> = {}): number {
  return m.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0);
}

/** 1 for the state the worker reports now (`admitting`, or why it is full). */
function admissionState(m: ReturnType<typeof parseExposition>): string {
  return m.samples.find((s) => s.name === 'streamscreen_admission_state' && s.value === 1)?.labels.state ?? 'unknown';
}

/** Shed frames of the step by reason (superseded, classifiers_over_budget, ...), for finding where the load goes. */
function shedReasons(m0: ReturnType<typeof parseExposition>, m1: ReturnType<typeof parseExposition>): string {
  const name = 'streamscreen_frames_shed_total';
  const reasons = new Set(m1.samples.filter((x) => x.name === name).map((x) => x.labels.reason ?? ''));
  const parts = [...reasons]
    .map((reason) => [reason, total(m1, name, { reason }) - total(m0, name, { reason })] as const)
    .filter(([, v]) => v > 0);
  return parts.length ? ` (${parts.map(([r, v]) => `${r} ${v}`).join(', ')})` : '';
}

async function runMode(
  mode: Mode,
  ctx: { nats: NatsServerHandle; nc: NatsConnection; rtmp: NginxRtmp; clip: string; hashList: string; dir: string },
  admission: 'fixed' | 'measured' = 'fixed',
): Promise<Step[]> {
  const metricsPort = await freePort();
  const configFile = join(ctx.dir, `worker-${mode}-${admission}.json`);
  const measured = admission === 'measured';
  const ramp = measured ? [offer] : steps;
  await writeFile(
    configFile,
    JSON.stringify({
      nats: { url: ctx.nats.url },
      // The ramp forces N (fixed admission, no degradation): it measures raw capacity. The measured
      // run offers more than that and lets the worker decide, degrading if it must.
      worker: measured
        ? { id: `bench-${mode}-measured`, maxStreams: Math.max(48, offer), admission: 'measured' }
        : { id: `bench-${mode}`, maxStreams: steps.at(-1)!, admission: 'fixed', capacity: { degrade: { enabled: false } } },
      // The sources are on loopback, which the source policy refuses unless it is listed.
      sampler: { decode: mode, fps: FPS, allowHosts: ['127.0.0.0/8'] },
      hash: { lists: [{ id: 'bench-kill', path: ctx.hashList, action: 'kill' }], objectStore: { enabled: false } },
      pipeline: { frameBudgetMs: budgetMs },
      metrics: { host: '127.0.0.1', port: metricsPort },
      // Debug: the per-frame "frame screened" line this benchmark reads.
      log: { level: 'debug' },
    }),
  );
  const worker = new WorkerProcess(configFile, metricsPort);
  const publishers: Publisher[] = [];
  const startedAt = new Map<string, number>();
  const js = jetstream(ctx.nc);
  const results: Step[] = [];
  let failures = 0;
  try {
    await worker.waitReady(180_000);
    console.log(`[${mode}] worker ready (pid ${worker.pid})`);
    for (const offered of ramp) {
      const fresh: Publisher[] = [];
      while (publishers.length < offered) {
        const id = `load-${mode}-${admission}-${publishers.length}`;
        const p = startPublisher(values.ffmpeg, ctx.clip, ctx.rtmp.rtmpUrl('live', id));
        publishers.push(p);
        fresh.push(p);
        startedAt.set(id, p.startedAt);
      }
      // Let nginx see the new streams before the worker asks for them.
      await sleep(1500);
      for (const p of fresh) {
        const id = p.url.slice(p.url.lastIndexOf('/') + 1);
        await js.publish(`streams.started.${id}`, JSON.stringify({ streamId: id, url: p.url }));
      }
      if (measured) {
        // The worker takes what its measures allow, a burst and then more as each settles.
        await sleep(admissionSeconds * 1000);
      } else {
        const deadline = Date.now() + 60_000;
        while (total(await worker.metrics(), 'streamscreen_active_streams') < offered) {
          if (Date.now() > deadline)
            throw new Error(`[${mode}] only ${total(await worker.metrics(), 'streamscreen_active_streams')} of ${offered} streams taken`);
          await sleep(500);
        }
      }
      await sleep(warmupSeconds * 1000);

      const m0 = await worker.metrics();
      // Measured: the streams admitted at the start of the window are the N measured.
      const n = measured ? Math.max(1, total(m0, 'streamscreen_active_streams')) : offered;
      const cpu0: TreeSample = sampleTree(worker.pid);
      const t0 = Date.now();
      await sleep(stepSeconds * 1000);
      const t1 = Date.now();
      const cpu1: TreeSample = sampleTree(worker.pid);
      const m1 = await worker.metrics();
      const seconds = (t1 - t0) / 1000;

      const inWindow = worker.frames.filter((f) => f.capturedAt + f.latencyMs >= t0 && f.capturedAt + f.latencyMs < t1);
      const latencies = inWindow.map((f) => f.latencyMs);
      const sourceLatencies = inWindow.map((f) => f.capturedAt + f.latencyMs - (startedAt.get(f.streamId)! + f.pts * 1000));
      const shed = total(m1, 'streamscreen_frames_shed_total') - total(m0, 'streamscreen_frames_shed_total');
      const breaches = total(m1, 'streamscreen_frames_over_budget_total') - total(m0, 'streamscreen_frames_over_budget_total');
      const cpuPct = ((cpu1.cpuSeconds - cpu0.cpuSeconds) / seconds) * 100;
      const expected = n * seconds * (mode === 'all' ? FPS : Math.min(FPS, 1 / GOP_SECONDS));
      const step: Step = {
        mode,
        streams: n,
        seconds: r1(seconds),
        frames_decided: inWindow.length,
        frames_expected: r0(expected),
        p50_frame_to_decision_ms: r0(percentile(latencies, 50)),
        p95_frame_to_decision_ms: r0(percentile(latencies, 95)),
        p99_frame_to_decision_ms: r0(percentile(latencies, 99)),
        p50_source_to_decision_ms: r0(percentile(sourceLatencies, 50)),
        p99_source_to_decision_ms: r0(percentile(sourceLatencies, 99)),
        cpu_pct_total: r1(cpuPct),
        cpu_pct_per_stream: r1(cpuPct / n),
        memory_mb: r0((cpu1.pssBytes ?? cpu1.rssBytes) / 2 ** 20),
        memory_mb_per_stream: r1((cpu1.pssBytes ?? cpu1.rssBytes) / 2 ** 20 / n),
        frames_shed: shed,
        budget_breaches: breaches,
        decoders: cpu1.ffmpegProcesses,
        streams_keyframes_only: total(m1, 'streamscreen_decode_streams', { mode: 'keyframes' }),
        // Within budget: p99 under it, nothing shed, and (nearly) every expected frame decided.
        within_budget: percentile(latencies, 99) <= budgetMs && shed === 0 && inWindow.length >= 0.9 * expected,
        admission,
        offered,
        admission_state: admissionState(m1),
        degradation_level: total(m1, 'streamscreen_degradation_level'),
        measured_capacity: total(m1, 'streamscreen_measured_capacity_streams'),
      };
      results.push(step);
      if (measured) {
        console.log(
          `[${mode} measured] offered ${offered}, admitted ${n} (state ${step.admission_state}, degradation level ${step.degradation_level}, ` +
            `measured capacity ${step.measured_capacity})`,
        );
      }
      console.log(
        `[${mode}] N=${n}: p50/p95/p99 ${step.p50_frame_to_decision_ms}/${step.p95_frame_to_decision_ms}/${step.p99_frame_to_decision_ms} ms, ` +
          `source p99 ${step.p99_source_to_decision_ms} ms, CPU ${step.cpu_pct_per_stream} %/stream (${step.cpu_pct_total} % total), ` +
          `memory ${step.memory_mb} MB, decided ${step.frames_decided}/${step.frames_expected}, shed ${shed}${shedReasons(m0, m1)}, breaches ${breaches} ` +
          `${step.within_budget ? 'OK' : 'OVER BUDGET'}`,
      );
      if (!step.within_budget && ++failures >= stopAfter) break;
    }
  } finally {
    // Ends first, so the worker acks and releases every stream and nothing is left for the next mode.
    for (const p of publishers) {
      const id = p.url.slice(p.url.lastIndexOf('/') + 1);
      await js.publish(`streams.ended.${id}`, JSON.stringify({ streamId: id })).catch(() => undefined);
    }
    await sleep(2000);
    await worker.stop();
    await Promise.all(publishers.map((p) => p.stop()));
    const jsm = await jetstreamManager(ctx.nc);
    await jsm.streams.purge('SCREENING_STARTS').catch(() => undefined);
  }
  return results;
}

function maxWithin(results: readonly Step[], mode: Mode): Step | undefined {
  // The largest N such that it and every smaller step held the budget.
  let best: Step | undefined;
  for (const s of results.filter((r) => r.mode === mode && r.admission === 'fixed')) {
    if (!s.within_budget) break;
    best = s;
  }
  return best;
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} not found: run npm run build first`);
  const dir = await mkdtemp(join(tmpdir(), 'streamscreen-load-'));
  console.log(`inputs: clip (${values['clip-seconds']} s) and a ${hashCount}-hash kill list (cached in the temp directory)`);
  const clip = await ensureClip(values.ffmpeg, { seconds: Number(values['clip-seconds']), gopSeconds: GOP_SECONDS });
  const hashList = await ensureHashList(hashCount);
  const nats = await startNatsServer();
  const rtmp = await startNginxRtmp();
  const nc = await nats.connect();
  const results: Step[] = [];
  const load0 = loadavg()[0]!;
  try {
    for (const mode of modes) {
      results.push(...(await runMode(mode, { nats, nc, rtmp, clip, hashList, dir })));
      if (measuredAdmission) results.push(...(await runMode(mode, { nats, nc, rtmp, clip, hashList, dir }, 'measured')));
    }
  } finally {
    await nc.close();
    await rtmp.stop();
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const auto = maxWithin(results, 'auto');
  const full = maxWithin(results, 'all');
  const machine = {
    cpus: cpus().length,
    model: cpus()[0]?.model,
    memory_gb: r1(totalmem() / 2 ** 30),
    loadavg_1m_before: r1(load0),
    loadavg_1m_after: r1(loadavg()[0]!),
    ffmpeg: execFileSync(values.ffmpeg, ['-hide_banner', '-version']).toString().split('\n')[0],
  };
  const summary = {
    // The largest step within budget with nothing shed (null: none of the steps run was).
    max_streams_within_budget: auto?.streams ?? null,
    max_streams_within_budget_full_decode: full?.streams ?? null,
    p99_frame_to_decision_ms: auto?.p99_frame_to_decision_ms ?? null,
    p99_source_to_decision_ms: auto?.p99_source_to_decision_ms ?? null,
    cpu_pct_per_stream: auto?.cpu_pct_per_stream ?? null,
    cpu_pct_per_stream_full_decode: full?.cpu_pct_per_stream ?? null,
    memory_mb_per_stream: auto?.memory_mb_per_stream ?? null,
    // Per mode, when run with --admission measured: streams offered and admitted, and whether the admitted ones held the budget.
    measured_admission: results
      .filter((r) => r.admission === 'measured')
      .map((r) => ({
        mode: r.mode,
        offered: r.offered,
        admitted: r.streams,
        within_budget: r.within_budget,
        p99_frame_to_decision_ms: r.p99_frame_to_decision_ms,
        admission_state: r.admission_state,
        degradation_level: r.degradation_level,
        measured_capacity: r.measured_capacity,
      })),
    budget_ms: budgetMs,
    settings: {
      steps,
      step_seconds: stepSeconds,
      warmup_seconds: warmupSeconds,
      modes,
      admission: values.admission,
      ...(measuredAdmission ? { offer, admission_seconds: admissionSeconds } : {}),
      hashes: hashCount,
      gop_seconds: GOP_SECONDS,
      fps: FPS,
    },
    machine,
    note: values.note,
    steps: results,
  };
  const out = join(ROOT, 'bench-results');
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'load.json'), JSON.stringify(summary, null, 2) + '\n');
  const note = `${machine.cpus} cores (${machine.model ?? '?'}), load average ${machine.loadavg_1m_before} before the run${values.note ? `; ${values.note}` : ''}`;
  await writeFile(
    join(out, 'load.svg'),
    loadChart(
      results.filter((r) => r.admission === 'fixed'),
      budgetMs,
      note,
    ),
  );
  console.log(
    '\n| mode | N | p50 | p95 | p99 capture→decision | p99 source→decision | CPU %/stream | memory MB | decided/expected | shed | breaches | within |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of results) {
    console.log(
      `| ${s.admission === 'measured' ? `${s.mode} (measured, ${s.streams} of ${s.offered} admitted)` : s.mode} | ${s.streams} | ${s.p50_frame_to_decision_ms} | ${s.p95_frame_to_decision_ms} | ${s.p99_frame_to_decision_ms} | ${s.p99_source_to_decision_ms} | ${s.cpu_pct_per_stream} | ${s.memory_mb} | ${s.frames_decided}/${s.frames_expected} | ${s.frames_shed} | ${s.budget_breaches} | ${s.within_budget ? 'yes' : 'no'} |`,
    );
  }
  console.log(
    `\nmax streams within budget: auto ${summary.max_streams_within_budget ?? 'none'}, full decode ${summary.max_streams_within_budget_full_decode ?? 'none'}; wrote bench-results/load.json and load.svg`,
  );
}

await main();
