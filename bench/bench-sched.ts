/**
 * Inference scheduler benchmark: what batching frames of different streams and running batches
 * side by side buy on this machine, with the default models (nudity + the face/age cascade, as
 * the worker runs them) behind one scheduler.
 *
 * Each round is a burst: `--streams` streams' frames (512x512, the sampler's size) arrive at once,
 * as keyframes of streams started together do in `npm run bench:load`. Per configuration
 * (maxBatch x concurrency) it measures the burst's makespan (first submit to last result) and
 * every frame's submit-to-result latency. Configurations run interleaved, round by round in
 * rotating order, so machine drift hits all alike; medians are reported, with ratios against
 * maxBatch 1 / concurrency 1 measured in the same run. The defaults of pipeline.inference come
 * from here. Writes bench-results/sched.json. Usage: npm run bench:sched [-- --rounds N --streams N]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { resolveConfig } from '../src/config/index.js';
import type { RawFrame } from '../src/domain/frame.js';
import { openClassifier } from '../src/worker/classify/classifier.js';
import { faceAgeFactory } from '../src/worker/classify/load-face-part.js';
import { faceGate } from '../src/worker/policy/index.js';
import { createInferenceScheduler } from '../src/worker/schedule/index.js';
import { ensureModels, repoRoot } from '../tools/model-builder/build-models.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '8' }, streams: { type: 'string', default: '16' } } });
const rounds = Number(values.rounds);
const streams = Number(values.streams);
const CONFIGS = [
  { maxBatch: 1, concurrency: 1 },
  { maxBatch: 2, concurrency: 1 },
  { maxBatch: 4, concurrency: 1 },
  { maxBatch: 1, concurrency: 2 },
  { maxBatch: 2, concurrency: 2 },
] as const;
const label = (c: { maxBatch: number; concurrency: number }): string => `batch ${c.maxBatch} x ${c.concurrency}`;

function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
function percentile(v: readonly number[], p: number): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
const r2 = (v: number): number => Math.round(v * 100) / 100;

/** Synthetic frames with detail (no real content): one per stream, different per round. */
function frame(stream: number, round: number): RawFrame {
  const size = 512;
  const data = Buffer.alloc(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * (31 + stream) + ((i / (size * 3)) | 0) * (7 + round)) & 255;
  return { streamId: `s${stream}`, seq: round, pts: round, capturedAt: Date.now(), width: size, height: size, data };
}

async function main(): Promise<void> {
  const built = await ensureModels();
  const loaded = resolveConfig({ classify: { manifestPath: built.manifestPath, maxBatch: 4, custom: false } });
  const classifier = await openClassifier({
    faceAge: faceAgeFactory,
    faceGate: faceGate(loaded.stages.policy, loaded.stages.policy.nudityWithMinorEscalateAt),
    logger: pino({ level: 'silent' }),
    options: loaded.stages.classifier,
  });
  const logger = pino({ level: 'silent' });
  const schedulers = CONFIGS.map((c) =>
    createInferenceScheduler({
      classify: (f) => classifier.classify(f),
      options: { ...loaded.stages.screener.inference, ...c, frameBudgetMs: 3_600_000 },
      logger,
    }),
  );
  // Warm-up: arenas and first-run costs.
  for (let i = 0; i < 4; i++) await classifier.classify(frame(i, 0));

  const makespan: number[][] = CONFIGS.map(() => []);
  const latency: number[][] = CONFIGS.map(() => []);
  for (let r = 0; r < rounds; r++) {
    // Drawn before the clock starts: only scheduling and inference are timed.
    const frames = Array.from({ length: streams }, (_, s) => frame(s, r));
    for (let k = 0; k < CONFIGS.length; k++) {
      const i = (r + k) % CONFIGS.length;
      const t0 = performance.now();
      const burst = frames.map(async (f) => {
        const o = await schedulers[i]!.submit({ streamId: f.streamId, frame: { ...f, capturedAt: Date.now() } });
        if (o.kind !== 'classified') throw new Error(`frame not classified: ${o.kind}`);
        latency[i]!.push(performance.now() - t0);
      });
      await Promise.all(burst);
      makespan[i]!.push(performance.now() - t0);
    }
  }
  await Promise.all(schedulers.map((s) => s.close()));
  await classifier.close();

  const base = median(makespan[0]!);
  const rows = CONFIGS.map((c, i) => ({
    ...c,
    burst_ms_median: r2(median(makespan[i]!)),
    ms_per_frame: r2(median(makespan[i]!) / streams),
    latency_ms_p50: r2(median(latency[i]!)),
    latency_ms_p95: r2(percentile(latency[i]!, 95)),
    speedup_vs_batch1_x1: r2(base / median(makespan[i]!)),
  }));
  const result = {
    streams_per_burst: streams,
    rounds,
    configs: rows,
    machine: { cores: availableParallelism(), cpu: cpus()[0]?.model ?? null, loadavg_1m: r2(loadavg()[0]!) },
    measured_at: new Date().toISOString(),
  };
  const out = join(repoRoot(), 'bench-results');
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'sched.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `bench:sched — bursts of ${streams} frames x ${rounds} rounds, ${result.machine.cores} cores, load ${result.machine.loadavg_1m}\n`,
  );
  for (const row of rows) {
    process.stdout.write(
      `${label(row).padEnd(16)} burst ${row.burst_ms_median} ms (${row.ms_per_frame} ms/frame), latency p50 ${row.latency_ms_p50} ms p95 ${row.latency_ms_p95} ms, ${row.speedup_vs_batch1_x1}x vs batch 1 x 1\n`,
    );
  }
  process.stdout.write('wrote bench-results/sched.json\n');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:sched: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
