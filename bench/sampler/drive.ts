/**
 * One side of npm run bench:sampler, run as its own process: samples N live RTMP streams with
 * the sampler of the tree given by --src (this one or a git ref's worktree) and PDQ-hashes every
 * frame on the main thread, as the worker's hot path does before matching and inference. After a
 * warm-up it measures for --seconds and prints one JSON line: frames, CPU seconds by role from
 * /proc (the main thread, i.e. the event loop's work; the process's other threads; each kind of
 * ffmpeg child), the event-loop utilisation node reports, and the time spent hashing.
 *
 *   tsx bench/sampler/drive.ts --src <tree> --url <rtmp url prefix> --streams N --seconds S --warmup W --decode auto|all
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { sampleBreakdown } from '../load/cpu-breakdown.js';

const { values } = parseArgs({
  options: {
    src: { type: 'string' },
    url: { type: 'string' },
    streams: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '6' },
    decode: { type: 'string', default: 'auto' },
    fps: { type: 'string', default: '1' },
  },
});
const src = values.src!;
const n = Number(values.streams);
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);

// The side's own modules: its sampler, its config defaults, its hasher (import paths as of this tree).
type SamplerModule = typeof import('../../src/worker/sampler/index.js');
type ConfigModule = typeof import('../../src/config/index.js');
type HasherModule = typeof import('../../src/hash/pdq-hasher.js');
const sampler = (await import(join(src, 'src/worker/sampler/index.ts'))) as SamplerModule;
const config = (await import(join(src, 'src/config/index.ts'))) as ConfigModule;
const hasherModule = (await import(join(src, 'src/hash/pdq-hasher.ts'))) as HasherModule;

const options = config.resolveConfig({
  sampler: { decode: values.decode as 'auto', fps: Number(values.fps), allowHosts: ['127.0.0.0/8'] },
}).stages.sampler;
const ffmpeg = await sampler.probeFfmpeg('/usr/bin/ffmpeg', 'path');
const hasher = hasherModule.createPdqHasher();
const logger = pino({ level: 'warn' });
let frames = 0;
let counting = false;
let hashMs = 0;
const samplers = Array.from({ length: n }, (_, i) =>
  sampler.createSampler({ url: `${values.url}${i}`, streamId: `bench-${i}`, ffmpeg, logger, options }),
);
const consumers = samplers.map(async (s) => {
  for await (const frame of s.frames()) {
    const t = performance.now();
    hasher.hash(frame);
    if (counting) {
      hashMs += performance.now() - t;
      frames++;
    }
  }
});

await new Promise((r) => setTimeout(r, warmup * 1000));
const t0 = sampleBreakdown(process.pid);
const elu0 = performance.eventLoopUtilization();
const w0 = performance.now();
counting = true;
await new Promise((r) => setTimeout(r, seconds * 1000));
counting = false;
const t1 = sampleBreakdown(process.pid);
const elu = performance.eventLoopUtilization(elu0);
const wall = (performance.now() - w0) / 1000;
const states = samplers.map((s) => s.stats());
await Promise.all(samplers.map((s) => s.stop()));
await Promise.allSettled(consumers);
console.log(
  JSON.stringify({
    frames,
    seconds: wall,
    cpu_s: Object.fromEntries(Object.keys(t1).map((k) => [k, t1[k as keyof typeof t1] - t0[k as keyof typeof t0]])),
    elu: elu.utilization,
    hash_ms: hashMs,
    keyframe_streams: states.filter((s) => s.decodeMode === 'keyframes').length,
    restarts: states.reduce((a, s) => a + s.restarts, 0),
  }),
);
