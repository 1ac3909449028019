/**
 * Pure pieces of the classifier runtime: resizing, input tensors in each layout, the one-at-a-
 * time batching queue, and manifest validation.
 */
import { describe, expect, it } from 'vitest';
import { buildInputTensor } from '../../../src/worker/classify/input-tensor.js';
import { parseManifest, type ModelInputSpec } from '../../../src/worker/classify/manifest.js';
import { mapSignal } from '../../../src/worker/classify/custom.js';
import { asScaledFrame, resizeRgb, scaleRgb, scaledFrame } from '../../../src/worker/classify/resize.js';
import { assertFrame, rgbImageProblem } from '../../../src/worker/classify/rgb-image.js';
import { createBatchQueue } from '../../../src/worker/classify/session.js';
import type { RgbImage } from '../../../src/domain/frame.js';

const img = (width: number, height: number, f: (x: number, y: number, c: number) => number): RgbImage => {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = f(x, y, c);
  return { width, height, data };
};

describe('resize', () => {
  it('returns an image already at the target size untouched (same object, no resampling)', async () => {
    const a = img(224, 224, (x, y, c) => (x + y + c) & 255);
    expect(resizeRgb(a, 224, 224)).toBe(a);
    expect(await scaleRgb(a, 224, 224)).toBe(a);
  });

  it('averages the covered source pixels when shrinking', () => {
    const a = img(4, 2, (x, y) => (y * 4 + x) * 10);
    expect(Array.from(resizeRgb(a, 2, 1).data)).toEqual([25, 25, 25, 45, 45, 45]);
    // non-integer ratio: a flat image stays flat, a ramp stays monotonic
    const flat = img(512, 512, (_x, _y, c) => [17, 99, 230][c]!);
    const small = resizeRgb(flat, 224, 224);
    expect(new Set(small.data.filter((_, i) => i % 3 === 1))).toEqual(new Set([99]));
    const ramp = resizeRgb(
      img(512, 1, (x) => x >> 1),
      224,
      1,
    );
    for (let x = 1; x < 224; x++) expect(ramp.data[x * 3]!).toBeGreaterThanOrEqual(ramp.data[(x - 1) * 3]!);
  });

  it('interpolates when enlarging', () => {
    const up = resizeRgb(
      img(2, 1, (x) => x * 100),
      4,
      1,
    );
    expect(Array.from(up.data.filter((_, i) => i % 3 === 0))).toEqual([0, 25, 75, 100]);
  });

  it('scales with libvips to the exact size, flat colours staying exact', async () => {
    const flat = img(512, 384, (_x, _y, c) => [17, 99, 230][c]!);
    const s = await scaleRgb(flat, 224, 224);
    expect([s.width, s.height, s.data.length]).toEqual([224, 224, 224 * 224 * 3]);
    expect(new Set(s.data)).toEqual(new Set([17, 99, 230]));
  });

  it('scales a frame once per size for every model that asks (ScaledFrame)', async () => {
    const a = img(64, 48, (x, y, c) => (x * 3 + y * 5 + c) & 255);
    const frame = scaledFrame(a);
    const first = frame.at(16, 16);
    expect(frame.at(16, 16)).toBe(first); // the same pending scaling, not a second one
    const small = await first;
    expect(await frame.at(16, 16)).toBe(small);
    expect(small.data).toEqual((await scaleRgb(a, 16, 16)).data);
    expect(await frame.at(8, 8)).not.toBe(small);
    expect(await frame.at(64, 48)).toBe(a);
    expect(asScaledFrame(frame)).toBe(frame);
    expect(asScaledFrame(a).source).toBe(a);
  });

  it('rejects impossible sizes and short buffers', () => {
    expect(() =>
      resizeRgb(
        img(2, 2, () => 0),
        0,
        5,
      ),
    ).toThrow(RangeError);
    expect(() => resizeRgb({ width: 4, height: 4, data: new Uint8Array(10) }, 2, 2)).toThrow(/needs 48/);
  });
});

describe('packed RGB check', () => {
  it('accepts exactly width x height x 3 bytes and says what is wrong otherwise', () => {
    expect(rgbImageProblem(img(3, 2, () => 0))).toBeUndefined();
    expect(rgbImageProblem({ width: 3, height: 2, data: new Uint8Array(17) })).toBe('image 3x2 needs 18 RGB bytes, got 17');
    // Longer is refused too: frames are packed, and a padded row would shift every pixel after it.
    expect(rgbImageProblem({ width: 3, height: 2, data: new Uint8Array(19) })).toMatch(/needs 18 RGB bytes, got 19/);
    expect(rgbImageProblem({ width: 0, height: 2, data: new Uint8Array(0) })).toMatch(/positive integers, got 0x2/);
    expect(rgbImageProblem({ width: 1.5, height: 2, data: new Uint8Array(9) })).toMatch(/positive integers/);
  });

  it('fails a bad frame as a terminal inference_failed ModelError', () => {
    expect(() => assertFrame({ width: 3, height: 2, data: new Uint8Array(5) })).toThrow(
      expect.objectContaining({ code: 'inference_failed', retryable: false }),
    );
  });

  it('is the check the resizers use', async () => {
    const long = { width: 4, height: 4, data: new Uint8Array(49) };
    expect(() => resizeRgb(long, 2, 2)).toThrow(/needs 48 RGB bytes, got 49/);
    await expect(scaleRgb(long, 2, 2)).rejects.toThrow(/needs 48 RGB bytes, got 49/);
  });
});

describe('input tensors', () => {
  const spec = (over: Partial<ModelInputSpec>): ModelInputSpec => ({
    name: 'x',
    type: 'uint8',
    layout: 'NHWC',
    size: [2, 2],
    channels: 3,
    batch: 'dynamic',
    normalisation: { divisor: 1, mean: [0, 0, 0], std: [1, 1, 1], inGraph: true },
    ...over,
  });
  const a = img(2, 2, (x, y, c) => y * 60 + x * 20 + c);

  it('uint8 NHWC of the model size is the frame itself', () => {
    const t = buildInputTensor(spec({}), [a]);
    expect(t.dims).toEqual([1, 2, 2, 3]);
    expect((t.data as Uint8Array).buffer).toBe(a.data.buffer);
  });

  it('batches, transposes to NCHW and pads fixed batches', () => {
    const b = img(2, 2, () => 7);
    const nhwc = buildInputTensor(spec({}), [a, b], 3);
    expect(nhwc.dims).toEqual([3, 2, 2, 3]);
    expect(Array.from((nhwc.data as Uint8Array).subarray(12, 24))).toEqual(new Array(12).fill(7));
    expect(Array.from((nhwc.data as Uint8Array).subarray(24))).toEqual(new Array(12).fill(0));
    const nchw = buildInputTensor(spec({ layout: 'NCHW' }), [a]);
    expect(Array.from(nchw.data as Uint8Array)).toEqual([0, 20, 60, 80, 1, 21, 61, 81, 2, 22, 62, 82]);
  });

  it('normalises float inputs per channel', () => {
    const t = buildInputTensor(
      spec({ type: 'float32', layout: 'NCHW', normalisation: { divisor: 255, mean: [0.5, 0, 0], std: [0.5, 1, 2], inGraph: false } }),
      [a],
    );
    const d = t.data as Float32Array;
    expect(d[0]).toBeCloseTo((0 / 255 - 0.5) / 0.5, 6);
    expect(d[4]).toBeCloseTo(1 / 255, 6);
    expect(d[11]).toBeCloseTo(82 / 255 / 2, 6);
  });
});

describe('batch queue', () => {
  it('runs one batch at a time and batches what queued meanwhile', async () => {
    const batches: number[][] = [];
    let running = 0;
    let maxRunning = 0;
    const q = createBatchQueue<number, number>(async (items) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      batches.push([...items]);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return items.map((i) => i * 2);
    }, 3);
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => q.push(i)));
    expect(results).toEqual([2, 4, 6, 8, 10, 12]);
    expect(maxRunning).toBe(1);
    expect(batches).toEqual([[1], [2, 3, 4], [5, 6]]);
    await q.drain();
    expect(q.pending).toBe(0);
  });

  it('fails only the batch whose run failed', async () => {
    const q = createBatchQueue<number, number>(async (items) => {
      if (items.includes(2)) throw new Error('boom');
      return items;
    }, 1);
    const r = await Promise.allSettled([1, 2, 3].map((i) => q.push(i)));
    expect(r.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});

describe('manifest', () => {
  it('lists every problem and refuses duplicate ids', () => {
    expect(() => parseManifest({ version: 1, models: [{ id: 'Bad Id', kind: 'x' }] }, 'm.json')).toThrow(
      /models\.0\.id[\s\S]*models\.0\.file/,
    );
    const entry = {
      id: 'a',
      kind: 'custom',
      file: 'a.onnx',
      sha256: '0'.repeat(64),
      license: 'MIT',
      source: { package: 'p', version: '1' },
    };
    expect(() => parseManifest({ version: 1, models: [entry, entry] }, 'm.json')).toThrow(/appears twice/);
    expect(parseManifest({ version: 1, models: [entry] }, '/x/m.json').resolveFile(entry)).toBe('/x/a.onnx');
  });

  it('maps signals with softmax, sigmoid or as they are', () => {
    const v = Float32Array.from([1, 3]);
    expect(mapSignal('m', 's', v, { index: 1, activation: 'softmax' })).toBeCloseTo(Math.exp(3) / (Math.exp(1) + Math.exp(3)), 6);
    expect(mapSignal('m', 's', v, { index: 0, activation: 'sigmoid' })).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
    expect(mapSignal('m', 's', v, { index: 1, activation: 'none' })).toBe(3);
    expect(() => mapSignal('m', 's', v, { index: 2, activation: 'none' })).toThrow(/index 2 of an output with 2 values/);
  });
});
