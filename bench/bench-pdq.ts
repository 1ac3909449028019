/**
 * PDQ hashing speed on a 512x512 RGB frame (raw buffer already decoded, single thread): the
 * production hasher (src/hash/pdq-hasher.ts, WebAssembly kernels) against a baseline measured
 * in the same run.
 *
 * Baseline: test/hash/pdq-naive.ts, the straightforward implementation the test suite uses as
 * its oracle: the same algorithm and the same float32 results, written step by step in plain
 * TypeScript (Math.fround at every float operation, one fresh buffer per step, the literal
 * 4-phase box filter per row and per strided column, the literal Torben median). It is what a
 * first careful port of the reference looks like, so the ratio shows what the optimisation buys.
 * Both are checked to give the same hash on the benchmark frame before timing.
 *
 * Runs are interleaved (one baseline run, then a batch of hasher runs, repeated) after a warm-up,
 * so machine load affects both alike; medians are reported.
 *
 *   npx tsx bench/bench-pdq.ts      or      node bench/bench-pdq.ts
 */
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RgbImage } from '../src/domain/frame.js';
import { createPdqHasher } from '../src/hash/pdq-hasher.js';
import { pdqToHex } from '../src/domain/pdq.js';
import { naiveBitsToHex, naivePdqHash } from '../test/hash/pdq-naive.js';

export interface PdqBenchResult {
  pdq_ms_median_512: number;
  pdq_ms_p99_512: number;
  baseline_ms_median_512: number;
  speedup_vs_baseline: number;
}

export interface PdqBenchOptions {
  /** Interleaved rounds; each times the baseline once and the hasher `batch` times. Default 60. */
  rounds?: number;
  /** Hasher runs per round. Default 10. */
  batch?: number;
}

/** A deterministic 512x512 frame: colour gradients, soft blobs and sensor-like noise. */
export function benchFrame(side = 512): RgbImage {
  let s = 0x2545f491;
  const rand = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  const blobs = Array.from({ length: 8 }, () => ({
    x: rand() * side,
    y: rand() * side,
    r: 20 + rand() * 120,
    c: [rand(), rand(), rand()],
  }));
  const data = new Uint8Array(side * side * 3);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      for (let c = 0; c < 3; c++) {
        let v = 40 + 80 * (x / side) * (c + 1) * 0.5 + 40 * (y / side);
        for (const b of blobs) v += 110 * b.c[c]! * Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.r * b.r));
        data[(y * side + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v + 10 * (rand() - 0.5))));
      }
    }
  }
  return { width: side, height: side, data };
}

function quantile(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

function timeMs(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export async function benchPdq(options: PdqBenchOptions = {}): Promise<PdqBenchResult> {
  const rounds = options.rounds ?? 60;
  const batch = options.batch ?? 10;
  const frame = benchFrame();
  const hasher = createPdqHasher();

  const fast = pdqToHex(hasher.hash(frame).hash);
  const naive = naiveBitsToHex(naivePdqHash(frame).bits);
  if (fast !== naive) throw new Error(`bench-pdq: hasher and baseline disagree on the bench frame (${fast} vs ${naive})`);

  for (let i = 0; i < 50; i++) hasher.hash(frame);
  for (let i = 0; i < 3; i++) naivePdqHash(frame);

  const hasherMs: number[] = [];
  const baselineMs: number[] = [];
  for (let r = 0; r < rounds; r++) {
    baselineMs.push(timeMs(() => naivePdqHash(frame)));
    for (let i = 0; i < batch; i++) hasherMs.push(timeMs(() => hasher.hash(frame)));
    // Let timers and I/O run between rounds so a long benchmark does not starve the event loop.
    await new Promise((resolveRound) => setImmediate(resolveRound));
  }
  hasherMs.sort((a, b) => a - b);
  baselineMs.sort((a, b) => a - b);
  const median = quantile(hasherMs, 0.5);
  const baseline = quantile(baselineMs, 0.5);
  return {
    pdq_ms_median_512: round3(median),
    pdq_ms_p99_512: round3(quantile(hasherMs, 0.99)),
    baseline_ms_median_512: round3(baseline),
    speedup_vs_baseline: Math.round((baseline / median) * 10) / 10,
  };
}

async function main(): Promise<void> {
  const r = await benchPdq();
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`PDQ, 512x512 RGB frame, single thread (${process.version}, ${cpu}, load ${loadavg()[0]!.toFixed(2)})`);
  console.log('                                   median ms   p99 ms');
  console.log(
    `hasher (WebAssembly kernels)      ${r.pdq_ms_median_512.toFixed(3).padStart(10)} ${r.pdq_ms_p99_512.toFixed(3).padStart(8)}`,
  );
  console.log(`baseline (plain oracle)           ${r.baseline_ms_median_512.toFixed(3).padStart(10)}`);
  console.log(`speed-up vs baseline              ${r.speedup_vs_baseline.toFixed(1).padStart(9)}x`);
  console.log(JSON.stringify(r));
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
