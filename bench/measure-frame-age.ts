/**
 * Steady-state frame age of the sampler on a live RTMP source: the time from the source creating
 * a frame to the sampler handing it out (capturedAt), per ffmpeg build and frame-rate filter.
 *
 * A generator in this process draws frames whose index is written into big black/white cells
 * (which survive x264 and the downscale), notes each frame's creation time, and pipes them to a
 * publisher ffmpeg (x264 -tune zerolatency, RTMP server on 127.0.0.1). The sampler under test
 * reads the stream, and every sampled frame's cells are decoded back to the index.
 *
 *   npx tsx bench/measure-frame-age.ts [--seconds 20] [--warmup 4] [--source-fps 30]
 *        [--ffmpeg debian=/usr/bin/ffmpeg] [--ffmpeg bundled=node_modules/@ffmpeg-installer/linux-x64/ffmpeg]
 *
 * Prints median / p95 / max age per variant, and the ratio of each median to the baseline
 * (the Debian ffmpeg with the select workaround) measured in the same run.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createSampler } from '../src/worker/sampler/sampler.js';
import { probeFfmpeg, type FfmpegBinary } from '../src/worker/sampler/ffmpeg-binary.js';
import { resolveConfig, type ConfigInput } from '../src/config/index.js';
import { freePort } from '../test/support/free-port.js';

const SRC_W = 640;
const SRC_H = 360;
const COLS = 8;
const ROWS = 4;
const INDEX_BITS = 20;
const CHECK_BITS = COLS * ROWS - INDEX_BITS;

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '4' },
    'source-fps': { type: 'string', default: '30' },
    ffmpeg: { type: 'string', multiple: true },
    publisher: { type: 'string', default: '/usr/bin/ffmpeg' },
  },
});
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const sourceFps = Number(values['source-fps']);
const binaries = (
  values.ffmpeg?.length ? values.ffmpeg : ['debian=/usr/bin/ffmpeg', 'bundled=node_modules/@ffmpeg-installer/linux-x64/ffmpeg']
)
  .map((s) => {
    const [name, path] = s.includes('=') ? (s.split('=', 2) as [string, string]) : [s, s];
    return { name, path };
  })
  .filter((b) => {
    if (existsSync(b.path)) return true;
    console.error(`skipping ${b.name}: ${b.path} does not exist`);
    return false;
  });

interface Variant {
  readonly label: string;
  readonly binary: FfmpegBinary;
  readonly options: ConfigInput['sampler'];
}

function drawFrame(index: number): Buffer {
  const buf = Buffer.alloc(SRC_W * SRC_H * 3, 96);
  const bits = (index & ((1 << INDEX_BITS) - 1)) | ((~index & ((1 << CHECK_BITS) - 1)) << INDEX_BITS);
  const cw = SRC_W / COLS;
  const ch = SRC_H / ROWS;
  for (let cell = 0; cell < COLS * ROWS; cell++) {
    const v = (bits >>> cell) & 1 ? 255 : 0;
    const x0 = (cell % COLS) * cw;
    const y0 = Math.floor(cell / COLS) * ch;
    for (let y = y0; y < y0 + ch; y++) buf.fill(v, (y * SRC_W + x0) * 3, (y * SRC_W + x0 + cw) * 3);
  }
  return buf;
}

/** The index drawn into a (scaled) frame, or undefined when its check bits disagree. */
function readIndex(data: Buffer, w: number, h: number): number | undefined {
  let bits = 0;
  for (let cell = 0; cell < COLS * ROWS; cell++) {
    const cx = Math.floor(((cell % COLS) + 0.5) * (w / COLS));
    const cy = Math.floor((Math.floor(cell / COLS) + 0.5) * (h / ROWS));
    let sum = 0;
    let n = 0;
    for (let y = cy - 2; y <= cy + 2; y++) {
      for (let x = cx - 2; x <= cx + 2; x++) {
        sum += data[(y * w + x) * 3] ?? 0;
        n++;
      }
    }
    if (sum / n > 127) bits |= 1 << cell;
  }
  bits >>>= 0;
  const index = bits & ((1 << INDEX_BITS) - 1);
  const check = bits >>> INDEX_BITS;
  return check === (~index & ((1 << CHECK_BITS) - 1)) ? index : undefined;
}

/**
 * Publisher: generator -> ffmpeg (x264 zerolatency) -> RTMP server on 127.0.0.1. It reads frames
 * from its stdin, so it ends by itself (EOF) when this script dies; the listen wait is bounded too.
 */
function startPublisher(url: string): { created: Map<number, number>; stop: () => Promise<void> } {
  const child = spawn(
    values.publisher,
    [
      '-hide_banner',
      '-nostdin',
      '-loglevel',
      'error',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${SRC_W}x${SRC_H}`,
      '-framerate',
      String(sourceFps),
      '-i',
      'pipe:0',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-tune',
      'zerolatency',
      '-g',
      String(sourceFps),
      '-pix_fmt',
      'yuv420p',
      '-f',
      'flv',
      '-listen',
      '1',
      '-timeout',
      '30',
      url,
    ],
    { stdio: ['pipe', 'ignore', 'inherit'] },
  );
  child.stdin.on('error', () => {});
  const created = new Map<number, number>();
  const t0 = performance.now();
  let index = 0;
  let busy = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    if (stopped) return;
    // Real-time pacing from a fixed origin, so timer jitter does not accumulate.
    const due = t0 + (index * 1000) / sourceFps;
    if (!busy) {
      const frame = drawFrame(index);
      created.set(index, Date.now());
      // Skip frames while ffmpeg is not reading (waiting for its client): a backlog would age every later frame.
      busy = !child.stdin.write(frame);
      if (busy) child.stdin.once('drain', () => (busy = false));
    }
    index++;
    created.delete(index - 10 * sourceFps * 60);
    timer = setTimeout(tick, Math.max(0, due + 1000 / sourceFps - performance.now()));
  };
  tick();
  return {
    created,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const closed = new Promise<void>((r) => child.once('close', () => r()));
      child.kill('SIGKILL');
      await closed;
    },
  };
}

interface Result {
  readonly label: string;
  readonly frames: number;
  readonly undecoded: number;
  readonly ages: number[];
  /** From starting the sampler to its first frame (connect, probe, first keyframe). */
  readonly firstFrameMs: number;
}

async function measure(v: Variant): Promise<Result> {
  const port = await freePort();
  const url = `rtmp://127.0.0.1:${port}/live/measure`;
  const pub = startPublisher(url);
  // The listener needs a moment; the sampler's restart-with-backoff covers a refused first connect.
  await new Promise((r) => setTimeout(r, 300));
  const startedAt = Date.now();
  const sampler = createSampler({
    url,
    streamId: 'measure',
    ffmpeg: v.binary,
    // error only: a refused first connect (listener not up yet) is retried and is not news.
    logger: pino({ level: 'error' }),
    options: resolveConfig({ sampler: { backoffBaseMs: 100, backoffMaxMs: 500, ...v.options } }).stages.sampler,
  });
  const ages: number[] = [];
  let frames = 0;
  let undecoded = 0;
  let firstAt: number | undefined;
  const deadline = Date.now() + (seconds + warmup) * 1000 + 15_000;
  const timeout = setTimeout(() => void sampler.stop(), Math.max(0, deadline - Date.now()));
  try {
    for await (const f of sampler.frames()) {
      firstAt ??= f.capturedAt;
      const index = readIndex(f.data, f.width, f.height);
      const created = index === undefined ? undefined : pub.created.get(index);
      if (created === undefined) undecoded++;
      if (f.capturedAt - firstAt >= warmup * 1000) {
        frames++;
        if (created !== undefined) ages.push(f.capturedAt - created);
      }
      if (f.capturedAt - firstAt >= (warmup + seconds) * 1000) break;
    }
  } finally {
    clearTimeout(timeout);
    await sampler.stop();
    await pub.stop();
  }
  return { label: v.label, frames, undecoded, ages, firstFrameMs: firstAt === undefined ? NaN : firstAt - startedAt };
}

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

async function main(): Promise<void> {
  const variants: Variant[] = [];
  for (const b of binaries) {
    const binary = await probeFfmpeg(b.path, 'env');
    const name = `${b.name} ${binary.version.replace(/-static$/, '').slice(0, 20)}`;
    variants.push(
      { label: `${name} workaround (select, 1 enc thread)`, binary, options: { rateFilter: 'select', encoderThreads: 1 } },
      { label: `${name} naive (fps filter, auto enc threads)`, binary, options: { rateFilter: 'fps', encoderThreads: 0 } },
      { label: `${name} fps filter, 1 enc thread`, binary, options: { rateFilter: 'fps', encoderThreads: 1 } },
      { label: `${name} select, auto enc threads`, binary, options: { rateFilter: 'select', encoderThreads: 0 } },
      {
        label: `${name} workaround, no low-latency flags`,
        binary,
        options: { rateFilter: 'select', encoderThreads: 1, lowLatency: false },
      },
    );
  }
  console.log(
    `frame age = sampler capturedAt - generator creation time; source ${SRC_W}x${SRC_H}@${sourceFps} x264 zerolatency over RTMP; sampler 1 fps, 512x512; ${warmup} s warm-up, ${seconds} s measured per variant\n`,
  );
  const results: Result[] = [];
  for (const v of variants) {
    const r = await measure(v);
    results.push(r);
    const s = [...r.ages].sort((a, b) => a - b);
    console.log(
      `${r.label.padEnd(60)} n=${String(s.length).padStart(3)} median=${quantile(s, 0.5).toFixed(0).padStart(5)} ms  p95=${quantile(s, 0.95).toFixed(0).padStart(5)} ms  max=${(s.at(-1) ?? NaN).toFixed(0).padStart(5)} ms  first frame after ${r.firstFrameMs.toFixed(0).padStart(5)} ms${r.undecoded ? `  undecoded=${r.undecoded}` : ''}`,
    );
  }
  const base = results[0];
  if (base && base.ages.length) {
    const baseMedian = quantile(
      [...base.ages].sort((a, b) => a - b),
      0.5,
    );
    console.log(`\nmedian age relative to "${base.label}":`);
    for (const r of results) {
      const m = quantile(
        [...r.ages].sort((a, b) => a - b),
        0.5,
      );
      console.log(`  ${r.label.padEnd(60)} x${(m / baseMedian).toFixed(2)}`);
    }
  }
}

await main();
