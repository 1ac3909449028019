/**
 * The converted nsfw model must equal the original: nsfwjs@4.4.0's MobileNetV2 on tfjs and our
 * ONNX file on onnxruntime-node, fed the same 224x224 uint8 tensors, must agree on every class
 * probability within 1e-5 (float32 rounding level; tfjs's own wasm and cpu backends differ by a
 * few 1e-6) and on the top class. Inputs: the benign photos of ../shared/pdq-vectors and
 * synthetic frames (drawn, and ffmpeg lavfi test sources).
 */
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NSFW_LABELS } from '../../../tools/model-builder/convert-nsfw.js';
import { loadManifest, type LoadedManifest } from '../../../src/worker/classify/manifest.js';
import { createNudityModel, type NudityModel } from '../../../src/worker/classify/nudity.js';
import { resizeRgb } from '../../../src/worker/classify/resize.js';
import type { RgbImage } from '../../../src/domain/frame.js';
import { nsfwjsProbabilities } from './nsfwjs-reference.js';
import { argmax, benignImagePaths, lavfiFrame, maxAbsDiff, modelsReady, readRgb, syntheticFrames } from './support.js';

const TOLERANCE = 1e-5;

let manifest: LoadedManifest;
let nudity: NudityModel;
const inputs: Array<{ name: string; image: RgbImage }> = [];

beforeAll(async () => {
  const built = await modelsReady();
  manifest = await loadManifest(built.manifestPath);
  const entry = manifest.models.find((m) => m.kind === 'nudity')!;
  nudity = await createNudityModel(manifest, entry, { intraOpThreads: 1, maxBatch: 4 });
  for (const path of benignImagePaths()) {
    inputs.push({ name: basename(path), image: resizeRgb(await readRgb(path), 224, 224) });
  }
  inputs.push(...syntheticFrames());
  for (const src of ['testsrc2', 'smptebars', 'mandelbrot']) inputs.push({ name: `lavfi-${src}`, image: lavfiFrame(src) });
}, 120_000);

afterAll(async () => {
  await nudity?.close();
});

describe('nsfw model parity (ONNX on onnxruntime-node vs nsfwjs on tfjs)', () => {
  it('manifest records the model as required', () => {
    const entry = manifest.models.find((m) => m.kind === 'nudity')!;
    expect(entry.source).toMatchObject({ package: 'nsfwjs', version: '4.4.0' });
    expect(entry.license).toBe('MIT');
    expect(entry.labels).toEqual([...NSFW_LABELS]);
    expect(entry.input).toMatchObject({ size: [224, 224], layout: 'NHWC', type: 'uint8', normalisation: { divisor: 255, inGraph: true } });
    expect(entry.accuracy?.value).toBe(0.9);
    expect(entry.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it(`agrees within ${TOLERANCE} with the wasm backend on benign photos and synthetic frames`, async () => {
    expect(inputs.length).toBeGreaterThanOrEqual(40);
    let worst = 0;
    let worstName = '';
    for (const { name, image } of inputs) {
      const ref = await nsfwjsProbabilities(image, 'wasm');
      const got = await nudity.probabilities(image);
      const diff = maxAbsDiff(got, ref);
      if (diff > worst) [worst, worstName] = [diff, name];
      expect(diff, `${name}: max abs diff`).toBeLessThanOrEqual(TOLERANCE);
      expect(argmax(got), `${name}: top class`).toBe(argmax(ref));
    }
    console.log(`nsfw parity vs tfjs-wasm: ${inputs.length} inputs, max abs diff ${worst.toExponential(2)} (${worstName})`);
  }, 120_000);

  it('agrees with the cpu backend too (tfjs reference kernels)', async () => {
    // The cpu kernels take seconds per frame: one photo and one synthetic frame.
    const sample = [inputs[0]!, inputs.find((i) => i.name === 'lavfi-testsrc2')!];
    let worst = 0;
    let backends = 0;
    for (const { name, image } of sample) {
      const cpu = await nsfwjsProbabilities(image, 'cpu');
      const wasm = await nsfwjsProbabilities(image, 'wasm');
      const got = await nudity.probabilities(image);
      worst = Math.max(worst, maxAbsDiff(got, cpu));
      backends = Math.max(backends, maxAbsDiff(cpu, wasm));
      expect(maxAbsDiff(got, cpu), `${name}: max abs diff vs cpu`).toBeLessThanOrEqual(TOLERANCE);
      expect(argmax(got), `${name}: top class`).toBe(argmax(cpu));
    }
    console.log(
      `nsfw parity vs tfjs-cpu: ${sample.length} inputs, max abs diff ${worst.toExponential(2)}; tfjs cpu vs wasm: ${backends.toExponential(2)}`,
    );
  }, 120_000);

  it('gives the same probabilities when frames from several streams are batched', async () => {
    const some = inputs.slice(0, 6);
    const single: Float32Array[] = [];
    for (const { image } of some) single.push(await nudity.probabilities(image));
    // Concurrent requests queue while one runs and then go through as one batch.
    const batched = await Promise.all(some.map(({ image }) => nudity.probabilities(image)));
    batched.forEach((b, i) => expect(maxAbsDiff(b, single[i]!)).toBeLessThanOrEqual(TOLERANCE));
  });

  it('reads a frame that is a view into a larger buffer (zero-copy path) correctly', async () => {
    const { image } = inputs[0]!;
    const big = Buffer.alloc(image.data.length + 64, 0xab);
    big.set(image.data, 7);
    const view = { width: 224, height: 224, data: big.subarray(7, 7 + image.data.length) };
    expect(maxAbsDiff(await nudity.probabilities(view), await nudity.probabilities(image))).toBe(0);
  });
});
