/**
 * Classifier benchmark: the converted nsfw model on onnxruntime-node versus the original nsfwjs
 * model on @tensorflow/tfjs with the wasm backend, same weights, same inputs, in one run.
 *
 * Each timed step is end to end from raw 224x224 RGB bytes to class probabilities: for ONNX the
 * runtime's own path (NudityModel.probabilities: tensor from the bytes, queue, session run);
 * for tfjs `tf.tensor3d` from the same bytes, nsfwjs's `infer`, `data()`. The engines run
 * interleaved frame by frame, in rotating order, so machine drift (other processes, thermal)
 * hits all of them alike; medians are reported.
 *
 * Also measured: 1 vs 2 intra-op threads with a busy core beside (as in a worker whose ffmpeg
 * and PDQ use the CPU), two streams on two 1-thread sessions versus one 2-thread session,
 * cross-stream batches of 4, the 512→224 resize, face+age per 512x512 frame, the whole composite
 * classifier per 512x512 frame, and two 224x224-input models on one 512x512 frame with each
 * scaling it versus one shared scaling (what the composite does).
 *
 * Writes bench-results/classify.json. Usage: npm run bench:classify [-- --rounds N]
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { resolveConfig } from '../src/config/index.js';
import * as ort from 'onnxruntime-node';
import { pino } from 'pino';
import sharp from 'sharp';
import { openClassifier } from '../src/worker/classify/classifier.js';
import { createCustomModel } from '../src/worker/classify/custom.js';
import { faceAgeFactory } from '../src/worker/classify/load-face-part.js';
import { loadManifest } from '../src/worker/classify/manifest.js';
import { createNudityModel, type NudityModel } from '../src/worker/classify/nudity.js';
import { resizeRgb, scaleRgb, scaledFrame } from '../src/worker/classify/resize.js';
import { createSession } from '../src/worker/classify/session.js';
import type { FaceAgeModel } from '../src/worker/classify/types.js';
import type { RgbImage } from '../src/domain/frame.js';
import { ensureModels, repoRoot } from '../tools/model-builder/build-models.js';

const TARGET_RATIO_1T = 7;
const TARGET_RATIO_2T = 12;

interface Args {
  rounds: number;
  frames: number;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string, fallback: number): number => {
    const i = argv.indexOf(`--${name}`);
    const v = i >= 0 ? Number(argv[i + 1]) : fallback;
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
    return v;
  };
  return { rounds: get('rounds', 6), frames: get('frames', 12) };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const round2 = (v: number): number => Math.round(v * 100) / 100;

async function loadFrames(count: number, size: number): Promise<RgbImage[]> {
  const dir = join(repoRoot(), '..', 'shared', 'pdq-vectors', 'decoded');
  const frames: RgbImage[] = [];
  if (existsSync(dir)) {
    for (const f of readdirSync(dir)
      .filter((n) => n.endsWith('.png'))
      .sort()) {
      if (frames.length >= count) break;
      const { data, info } = await sharp(join(dir, f))
        .removeAlpha()
        .resize(size, size, { fit: 'fill' })
        .raw()
        .toBuffer({ resolveWithObject: true });
      frames.push({ width: info.width, height: info.height, data });
    }
  }
  // Synthetic frames make up the rest (and all of it without ../shared).
  for (let k = 0; frames.length < count; k++) {
    const data = new Uint8Array(size * size * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * (31 + k) + ((i / (size * 3)) | 0) * (7 + k)) & 255;
    frames.push({ width: size, height: size, data });
  }
  return frames;
}

let tfjsInfo: { simd: boolean; multithread: boolean } | null = null;

/** nsfwjs on tfjs-wasm, loaded the way its users load it (bundled model, `infer`). */
async function loadTfjsReference(): Promise<(image: RgbImage) => Promise<Float32Array>> {
  const { info, warn, log } = console;
  console.info = console.warn = console.log = () => {};
  try {
    const tf = await import('@tensorflow/tfjs');
    await import('@tensorflow/tfjs-backend-wasm');
    const { load } = await import('nsfwjs');
    const { MobileNetV2Model } = await import('nsfwjs/models/mobilenet_v2');
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend did not initialise');
    await tf.ready();
    const model = await load('MobileNetV2', { modelDefinitions: [MobileNetV2Model] } as Parameters<typeof load>[1]);
    tfjsInfo = {
      simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
      multithread: Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')),
    };
    return async (image) => {
      const input = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
      const out = model.infer(input);
      const values = (await out.data()) as Float32Array;
      out.dispose();
      input.dispose();
      return values;
    };
  } finally {
    Object.assign(console, { info, warn, log });
  }
}

/** Keeps one core busy (a stand-in for ffmpeg decoding and PDQ hashing) until stopped. */
function burnCore(): { stop: () => Promise<void> } {
  const worker = new Worker('const end = () => false; for (;;) { let x = 0; for (let i = 0; i < 1e7; i++) x += i; if (end()) break; }', {
    eval: true,
  });
  return {
    stop: async () => {
      await worker.terminate();
    },
  };
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  const built = await ensureModels();
  const manifest = await loadManifest(built.manifestPath);
  const entry = manifest.models.find((m) => m.kind === 'nudity');
  if (!entry) throw new Error('no nudity model in the manifest');

  const frames = await loadFrames(args.frames, 224);
  const bigFrames = await loadFrames(Math.min(args.frames, 8), 512);
  const onnx1: NudityModel = await createNudityModel(manifest, entry, { intraOpThreads: 1, maxBatch: 4 });
  const onnx2: NudityModel = await createNudityModel(manifest, entry, { intraOpThreads: 2, maxBatch: 4 });
  // For reference only: the runtime keeps spinning off (spinning threads steal the samplers' cores).
  const onnx2spin: NudityModel = await createNudityModel(manifest, entry, { intraOpThreads: 2, maxBatch: 4, spinning: true });
  // A bare session fed a ready tensor: the floor under the runtime's own overhead.
  const bare = await createSession(manifest.resolveFile(entry), { intraOpThreads: 1 });
  const bareRun = async (f: RgbImage): Promise<unknown> =>
    bare.run({ [entry.input!.name]: new ort.Tensor('uint8', f.data, [1, 224, 224, 3]) });
  const tfjs = await loadTfjsReference();

  // Warm-up: first runs allocate arenas and compile wasm kernels.
  for (const f of frames.slice(0, 3)) {
    await tfjs(f);
    await onnx1.probabilities(f);
    await onnx2.probabilities(f);
    await onnx2spin.probabilities(f);
    await bareRun(f);
  }

  log(
    `bench:classify — ${frames.length} frames x ${args.rounds} rounds, ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), load ${loadavg()[0]!.toFixed(2)}`,
  );
  type Engine = [string, (f: RgbImage) => Promise<unknown>];
  /** Median ms per frame of each engine, run interleaved frame by frame in rotating order. */
  const interleaved = async (engines: readonly Engine[]): Promise<Record<string, number>> => {
    const times: Record<string, number[]> = Object.fromEntries(engines.map(([n]) => [n, []]));
    for (let r = 0; r < args.rounds; r++) {
      for (let i = 0; i < frames.length; i++) {
        // Rotate the order so no engine always runs right after another one's cache pollution.
        for (let k = 0; k < engines.length; k++) {
          const [name, run] = engines[(r + i + k) % engines.length]!;
          times[name]!.push(await timeIt(() => run(frames[i]!)));
        }
      }
    }
    return Object.fromEntries(Object.entries(times).map(([n, t]) => [n, median(t)]));
  };
  const main = await interleaved([
    ['tfjs', tfjs],
    ['onnx1', (f) => onnx1.probabilities(f)],
    ['onnx2', (f) => onnx2.probabilities(f)],
  ]);
  const tfjsMs = main.tfjs!;
  const onnx1Ms = main.onnx1!;
  const onnx2Ms = main.onnx2!;
  // The runtime's overhead over a bare session fed a ready tensor.
  const overhead = await interleaved([
    ['onnx1', (f) => onnx1.probabilities(f)],
    ['bare', bareRun],
  ]);
  // Spinning threads keep burning CPU after a run and would slow whatever runs next, so the
  // spinning session is timed in its own block, not interleaved.
  const spin = await interleaved([['spin', (f) => onnx2spin.probabilities(f)]]);

  // Cross-stream batches: 4 frames submitted together go through as one batch of 4.
  const batchTimes: number[] = [];
  for (let r = 0; r < args.rounds; r++) {
    for (let i = 0; i + 4 <= frames.length; i += 4) {
      const group = frames.slice(i, i + 4);
      batchTimes.push((await timeIt(() => Promise.all(group.map((f) => onnx1.probabilities(f))))) / 4);
    }
  }

  // Two streams at once: two 1-thread sessions side by side vs one 2-thread session taking turns.
  const onnx1b = await createNudityModel(manifest, entry, { intraOpThreads: 1, maxBatch: 1 });
  const onnx2serial = await createNudityModel(manifest, entry, { intraOpThreads: 2, maxBatch: 1 });
  await onnx1b.probabilities(frames[0]!);
  await onnx2serial.probabilities(frames[0]!);
  const twoStreams = async (a: NudityModel, b: NudityModel): Promise<number> => {
    const n = frames.length * Math.max(1, args.rounds >> 1);
    const t0 = performance.now();
    await Promise.all([
      (async () => {
        for (let i = 0; i < n; i++) await a.probabilities(frames[i % frames.length]!);
      })(),
      (async () => {
        for (let i = 0; i < n; i++) await b.probabilities(frames[(i + 1) % frames.length]!);
      })(),
    ]);
    return (2 * n * 1000) / (performance.now() - t0);
  };
  const fpsTwoSessions1t = await twoStreams(onnx1, onnx1b);
  const fpsOneSession2t = await twoStreams(onnx2serial, onnx2serial);

  // Under load: one core kept busy while measuring 1 vs 2 threads (interleaved).
  const burner = burnCore();
  const loaded = { onnx1: [] as number[], onnx2: [] as number[] };
  try {
    await new Promise((r) => setTimeout(r, 200));
    for (let r = 0; r < args.rounds; r++) {
      for (const [i, f] of frames.entries()) {
        const order = (r + i) % 2 ? (['onnx1', 'onnx2'] as const) : (['onnx2', 'onnx1'] as const);
        for (const name of order) loaded[name].push(await timeIt(() => (name === 'onnx1' ? onnx1 : onnx2).probabilities(f)));
      }
    }
  } finally {
    await burner.stop();
  }

  // The frame scaling done on each sampler frame (512x512 → 224x224): libvips (the runtime's
  // path) and the pure-JS area resize (kept for sync callers).
  const resizeTimes: number[] = [];
  const resizeJsTimes: number[] = [];
  for (let r = 0; r < args.rounds; r++) {
    for (const f of bigFrames) {
      resizeTimes.push(await timeIt(() => scaleRgb(f, 224, 224)));
      resizeJsTimes.push(await timeIt(async () => resizeRgb(f, 224, 224)));
    }
  }
  // End to end from a 512x512 sampler frame (scale + inference), one thread.
  const frameTimes: number[] = [];
  for (let r = 0; r < args.rounds; r++) for (const f of bigFrames) frameTimes.push(await timeIt(() => onnx1.probabilities(f)));

  // Two models with the same 224x224 input on one 512x512 frame: the nudity model and the same
  // network loaded again as a drop-in. Each scaling the frame itself (the baseline) vs both
  // given one ScaledFrame (what classify() does), interleaved in alternating order.
  const twin = await createCustomModel(
    manifest,
    { ...entry, id: `${entry.id}-as-custom`, kind: 'custom', signals: { first: { index: 0, activation: 'none' } } },
    { intraOpThreads: 1, maxBatch: 4 },
  );
  await twin.warmUp();
  const twinTimes = { separate: [] as number[], shared: [] as number[] };
  const twinRuns = {
    separate: (f: RgbImage) => Promise.all([onnx1.probabilities(f), twin.signals(f)]),
    shared: (f: RgbImage) => {
      const frame = scaledFrame(f);
      return Promise.all([onnx1.probabilities(frame), twin.signals(frame)]);
    },
  };
  for (let r = 0; r < args.rounds; r++) {
    for (const [i, f] of bigFrames.entries()) {
      const order = (r + i) % 2 ? (['separate', 'shared'] as const) : (['shared', 'separate'] as const);
      for (const name of order) twinTimes[name].push(await timeIt(() => twinRuns[name](f)));
    }
  }
  await twin.close();

  // The whole composite (nudity + face/age side by side) per 512x512 frame, as the worker runs it.
  const composite = await openClassifier({
    manifest,
    faceAge: faceAgeFactory,
    logger: pino({ level: 'silent' }),
    options: resolveConfig({ classify: { intraOpThreads: 1, custom: false } }).stages.classifier,
  });
  const compositeTimes: number[] = [];
  for (let r = 0; r < args.rounds; r++) for (const f of bigFrames) compositeTimes.push(await timeIt(() => composite.classify(f)));
  await composite.close();

  // Face detection + apparent age per 512x512 frame (the sampler's size), when the face part exists.
  let faceMs: number | null = null;
  const face: FaceAgeModel | undefined = await faceAgeFactory({
    manifest,
    session: { intraOpThreads: 1, maxBatch: 4 },
    logger: pino({ level: 'silent' }),
  });
  if (face) {
    await face.warmUp();
    const faceTimes: number[] = [];
    for (let r = 0; r < args.rounds; r++) for (const f of bigFrames) faceTimes.push(await timeIt(() => face.analyse(f)));
    faceMs = median(faceTimes);
    await face.close();
  }
  await Promise.all([onnx1.close(), onnx2.close(), onnx2spin.close(), onnx1b.close(), onnx2serial.close(), bare.release()]);

  const result = {
    onnx_fps: round2(1000 / onnx1Ms),
    onnx_fps_2t: round2(1000 / onnx2Ms),
    tfjs_wasm_fps: round2(1000 / tfjsMs),
    ratio: round2(tfjsMs / onnx1Ms),
    ratio_2t: round2(tfjsMs / onnx2Ms),
    face_age_ms_median: faceMs === null ? null : round2(faceMs),
    targets: { ratio: TARGET_RATIO_1T, ratio_2t: TARGET_RATIO_2T },
    targets_met: tfjsMs / onnx1Ms >= TARGET_RATIO_1T && tfjsMs / onnx2Ms >= TARGET_RATIO_2T,
    ms_per_frame_median: {
      onnx_1t: round2(onnx1Ms),
      onnx_2t: round2(onnx2Ms),
      tfjs_wasm: round2(tfjsMs),
      onnx_2t_spinning: round2(spin.spin!),
      onnx_1t_vs_bare_session: { runtime: round2(overhead.onnx1!), bare: round2(overhead.bare!) },
    },
    tfjs_wasm_backend: tfjsInfo,
    batch4_ms_per_frame_1t: round2(median(batchTimes)),
    under_load_one_core_busy_ms: { onnx_1t: round2(median(loaded.onnx1)), onnx_2t: round2(median(loaded.onnx2)) },
    two_streams_fps: { two_sessions_1t: round2(fpsTwoSessions1t), one_session_2t: round2(fpsOneSession2t) },
    resize_512_to_224_ms_median: { sharp: round2(median(resizeTimes)), js_area: round2(median(resizeJsTimes)) },
    onnx_1t_from_512_frame_ms_median: round2(median(frameTimes)),
    composite_from_512_frame_ms_median: round2(median(compositeTimes)),
    two_224_models_from_512_frame_ms_median: {
      separate_scaling: round2(median(twinTimes.separate)),
      shared_scaling: round2(median(twinTimes.shared)),
      ratio: round2(median(twinTimes.separate) / median(twinTimes.shared)),
    },
    frames: frames.length,
    rounds: args.rounds,
    machine: { cores: availableParallelism(), cpu: cpus()[0]?.model ?? null, loadavg_1m: round2(loadavg()[0]!) },
    measured_at: new Date().toISOString(),
  };
  const outDir = join(repoRoot(), 'bench-results');
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'classify.json'), `${JSON.stringify(result, null, 2)}\n`);

  log(`tfjs-wasm     ${tfjsMs.toFixed(2)} ms/frame  (${result.tfjs_wasm_fps} fps)`);
  log(`onnx 1 thread ${onnx1Ms.toFixed(2)} ms/frame  (${result.onnx_fps} fps)  ratio ${result.ratio}x (target ≥ ${TARGET_RATIO_1T}x)`);
  log(
    `onnx 2 thread ${onnx2Ms.toFixed(2)} ms/frame  (${result.onnx_fps_2t} fps)  ratio ${result.ratio_2t}x (target ≥ ${TARGET_RATIO_2T}x)`,
  );
  log(
    `(2 threads with spinning: ${result.ms_per_frame_median.onnx_2t_spinning} ms; 1 thread runtime vs bare session: ${result.ms_per_frame_median.onnx_1t_vs_bare_session.runtime} / ${result.ms_per_frame_median.onnx_1t_vs_bare_session.bare} ms)`,
  );
  log(`batch of 4 (1 thread): ${result.batch4_ms_per_frame_1t} ms/frame`);
  log(
    `one core busy: 1 thread ${result.under_load_one_core_busy_ms.onnx_1t} ms, 2 threads ${result.under_load_one_core_busy_ms.onnx_2t} ms`,
  );
  log(
    `two streams: 2 sessions x 1 thread ${result.two_streams_fps.two_sessions_1t} fps, 1 session x 2 threads ${result.two_streams_fps.one_session_2t} fps`,
  );
  log(
    `resize 512→224: sharp ${result.resize_512_to_224_ms_median.sharp} ms, js ${result.resize_512_to_224_ms_median.js_area} ms; nudity from a 512x512 frame: ${result.onnx_1t_from_512_frame_ms_median} ms`,
  );
  log(
    `face+age per 512x512 frame: ${faceMs === null ? 'n/a (no face models)' : `${result.face_age_ms_median} ms`}; whole classifier (nudity + faces): ${result.composite_from_512_frame_ms_median} ms`,
  );
  const twinResult = result.two_224_models_from_512_frame_ms_median;
  log(
    `two 224x224 models on a 512x512 frame: each scaling ${twinResult.separate_scaling} ms, one shared scaling ${twinResult.shared_scaling} ms (${twinResult.ratio}x)`,
  );
  log(`targets ${result.targets_met ? 'met' : 'NOT met'}; wrote bench-results/classify.json`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:classify: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
