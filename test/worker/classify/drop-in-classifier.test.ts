/**
 * A platform drops its own ONNX classifier into the model folder with a manifest entry that maps
 * outputs to named signals; the classifier reports them with no code change. The model here is
 * a tiny one built by the test itself (mean colour → linear layer), so the expected signals can
 * be computed by hand.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifierOptions } from '../../support/stage-options.js';
import { GraphBuilder, sha256Hex, tensorF32 } from '../../../tools/model-builder/onnx/index.js';
import { createClassifier, openClassifier } from '../../../src/worker/classify/classifier.js';
import { loadManifest, parseManifest, type ManifestEntry } from '../../../src/worker/classify/manifest.js';
import { createCustomModel } from '../../../src/worker/classify/custom.js';
import { createNudityModel } from '../../../src/worker/classify/nudity.js';
import { scaledFrame, type ScaledFrame } from '../../../src/worker/classify/resize.js';
import type { RgbImage } from '../../../src/domain/frame.js';
import { maxAbsDiff, modelsReady } from './support.js';

const W = [
  [0.5, -1.0],
  [1.5, 0.25],
  [-2.0, 0.75],
];
const MEAN = [0.485, 0.456, 0.406] as const;
const STD = [0.229, 0.224, 0.225] as const;

/** pixels [N,3,size,size] float → ReduceMean over H,W → Gemm → logits [N,2]; also a sigmoid output. */
function tinyModel(size = 4): Uint8Array {
  const g = new GraphBuilder('vendor_tiny');
  const x = g.addInput('pixels', 'float32', ['n', 3, size, size]);
  const mean = g.op('ReduceMean', [x], { axes: [2, 3], keepdims: 0 }, 'mean');
  const logits = g.op('Gemm', [mean, g.constant(tensorF32(W.flat(), [3, 2]), 'w')], {}, 'gemm');
  g.addOutput(logits, 'float32', ['n', 2], 'logits');
  g.addOutput(g.op('Sigmoid', [logits]), 'float32', ['n', 2], 'probs');
  return g.toBytes({ producer: 'vendor' });
}

function flat(width: number, height: number, rgb: readonly [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { width, height, data };
}

/** What the tiny model gives for a flat colour, in float64. */
function expected(rgb: readonly [number, number, number]): { logits: [number, number] } {
  const v = rgb.map((c, i) => (c / 255 - MEAN[i]!) / STD[i]!);
  const l0 = v.reduce((s, vi, i) => s + vi * W[i]![0]!, 0);
  const l1 = v.reduce((s, vi, i) => s + vi * W[i]![1]!, 0);
  return { logits: [l0, l1] };
}

let dir: string;
let nudityEntry: ManifestEntry;
let manifestPath: string;

beforeAll(async () => {
  const built = await modelsReady();
  const real = await loadManifest(built.manifestPath);
  const entry = real.models.find((m) => m.kind === 'nudity')!;
  nudityEntry = { ...entry, file: real.resolveFile(entry) };
  dir = await mkdtemp(join(tmpdir(), 'streamscreen-dropin-'));
  const bytes = tinyModel();
  await writeFile(join(dir, 'vendor.onnx'), bytes);
  const vendor = {
    id: 'vendor-tiny',
    kind: 'custom',
    file: 'vendor.onnx',
    sha256: sha256Hex(bytes),
    license: 'proprietary',
    source: { package: 'vendor-sdk', version: '1.0.0' },
    input: {
      name: 'pixels',
      type: 'float32',
      layout: 'NCHW',
      size: [4, 4],
      normalisation: { divisor: 255, mean: [...MEAN], std: [...STD] },
    },
    signals: {
      vendor_flag: { output: 'logits', index: 1, activation: 'softmax' },
      vendor_raw: { output: 'logits', index: 0 },
      vendor_sig: { output: 'probs', index: 0 },
    },
  };
  manifestPath = join(dir, 'manifest.json');
  await writeFile(manifestPath, JSON.stringify({ version: 1, models: [nudityEntry, vendor] }, null, 2));
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('drop-in ONNX classifier from a manifest entry', () => {
  it('reports the mapped signals next to the nudity probabilities', async () => {
    const classifier = await openClassifier({ options: classifierOptions({ manifestPath }) });
    try {
      expect(classifier.ready).toBe(true);
      expect(classifier.models).toEqual(['nsfw-mobilenet-v2', 'vendor-tiny']);
      for (const rgb of [
        [200, 30, 90],
        [10, 240, 128],
        [0, 0, 0],
      ] as const) {
        // 24x18: not the model's 4x4, so it is scaled first (a flat colour stays exactly flat).
        const image = flat(24, 18, rgb);
        const s = await classifier.classify(image);
        const { logits } = expected(rgb);
        const softmax1 = Math.exp(logits[1]) / (Math.exp(logits[0]) + Math.exp(logits[1]));
        expect(s.custom!.vendor_flag).toBeCloseTo(softmax1, 5);
        expect(s.custom!.vendor_raw).toBeCloseTo(logits[0], 5);
        expect(s.custom!.vendor_sig).toBeCloseTo(1 / (1 + Math.exp(-logits[0])), 5);
        expect(Object.keys(s.nudity!)).toEqual(['drawing', 'hentai', 'neutral', 'porn', 'sexy']);
        expect(s.faces).toBeUndefined(); // no face part plugged in here
      }
    } finally {
      await classifier.close();
    }
    expect(classifier.ready).toBe(false);
  });

  it('gives the nudity model the same answer as running it alone', async () => {
    const manifest = parseManifest({ version: 1, models: [nudityEntry] }, manifestPath);
    const alone = await createNudityModel(manifest, nudityEntry, { intraOpThreads: 1, maxBatch: 1 });
    const classifier = await openClassifier({ options: classifierOptions({ manifestPath }) });
    try {
      const image = flat(224, 224, [180, 120, 100]);
      const p = await alone.probabilities(image);
      const s = await classifier.classify(image);
      expect(maxAbsDiff(Object.values(s.nudity!), p)).toBe(0);
    } finally {
      await Promise.all([alone.close(), classifier.close()]);
    }
  });

  it('close() waits for runs still being scaled or queued, then refuses new ones', async () => {
    const manifest = parseManifest({ version: 1, models: [nudityEntry] }, manifestPath);
    const model = await createNudityModel(manifest, nudityEntry, { intraOpThreads: 1, maxBatch: 1 });
    // 512x384: every run is scaled (asynchronously, by libvips) before it reaches the queue.
    const frames = [flat(512, 384, [200, 30, 90]), flat(512, 384, [10, 240, 128]), flat(512, 384, [90, 90, 90])];
    const started = frames.map((f) => model.probabilities(f));
    await model.close();
    const settled = await Promise.allSettled(started);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    for (const s of settled) if (s.status === 'fulfilled') expect(s.value).toHaveLength(5);
    await expect(model.probabilities(frames[0]!)).rejects.toMatchObject({
      code: 'inference_failed',
      message: expect.stringMatching(/closed/),
    });
    await expect(model.warmUp()).rejects.toMatchObject({ code: 'inference_failed' });
  });

  it('models with the same input size share one scaling of a frame, with unchanged answers', async () => {
    // The vendor's network at the nudity model's 224x224 input.
    const bytes = tinyModel(224);
    await writeFile(join(dir, 'vendor224.onnx'), bytes);
    const vendor = JSON.parse(await readFile(manifestPath, 'utf8')) as { models: Array<Record<string, unknown>> };
    const entry224 = {
      ...vendor.models[1]!,
      id: 'vendor-224',
      file: 'vendor224.onnx',
      sha256: sha256Hex(bytes),
      input: { ...(vendor.models[1]!.input as object), size: [224, 224] },
    };
    const manifest = parseManifest({ version: 1, models: [nudityEntry, entry224] }, manifestPath);
    const options = { intraOpThreads: 1, maxBatch: 1 };
    const nudity = await createNudityModel(manifest, nudityEntry, options);
    const vendor224 = await createCustomModel(manifest, manifest.models[1]!, options);
    try {
      const image: RgbImage = { width: 512, height: 384, data: new Uint8Array(512 * 384 * 3).map((_, i) => (i * 7919) % 251) };
      // A real ScaledFrame, recording what the models ask of it.
      const shared = scaledFrame(image);
      const asked: string[] = [];
      const given: RgbImage[] = [];
      const recording: ScaledFrame = {
        source: image,
        at: async (w, h) => {
          asked.push(`${w}x${h}`);
          const s = await shared.at(w, h);
          given.push(s);
          return s;
        },
      };
      const [p, signals] = await Promise.all([nudity.probabilities(recording), vendor224.signals(recording)]);
      expect(asked).toEqual(['224x224', '224x224']);
      expect(given[0]).toBe(given[1]);
      // Each model scaling the frame on its own gives the same answers.
      expect(maxAbsDiff(await nudity.probabilities(image), p)).toBe(0);
      expect(await vendor224.signals(image)).toEqual(signals);
    } finally {
      await Promise.all([nudity.close(), vendor224.close()]);
    }
  });

  it('refuses a signal that reads an output the model does not have', async () => {
    const bad = join(dir, 'bad-manifest.json');
    const text = JSON.parse(await readFile(manifestPath, 'utf8')) as { models: Array<Record<string, unknown>> };
    text.models[1]!.signals = { vendor_flag: { output: 'nope', index: 0 } };
    await writeFile(bad, JSON.stringify(text));
    const classifier = createClassifier({ options: classifierOptions({ manifestPath: bad, nudity: false }) });
    await expect(classifier.start()).rejects.toMatchObject({
      code: 'model_invalid',
      message: expect.stringMatching(/signal 'vendor_flag' reads output 'nope'/),
    });
    expect(classifier.ready).toBe(false);
  });

  it("refuses a model file whose sha256 is not the manifest's", async () => {
    const bad = join(dir, 'bad-sha.json');
    const text = JSON.parse(await readFile(manifestPath, 'utf8')) as { models: Array<Record<string, unknown>> };
    text.models[1]!.sha256 = 'f'.repeat(64);
    await writeFile(bad, JSON.stringify(text));
    const classifier = createClassifier({ options: classifierOptions({ manifestPath: bad, nudity: false }) });
    await expect(classifier.start()).rejects.toMatchObject({
      code: 'model_invalid',
      message: expect.stringMatching(/has sha256 [0-9a-f]{64}, the manifest says f{64}/),
    });
  });

  it('refuses to classify before start() and explains a missing manifest', async () => {
    const c = createClassifier({ options: classifierOptions({ manifestPath: join(dir, 'missing.json') }) });
    await expect(c.classify(flat(4, 4, [0, 0, 0]))).rejects.toMatchObject({ code: 'inference_failed', retryable: true });
    await expect(c.start()).rejects.toThrow(/run `npm run models`/);
  });
});
