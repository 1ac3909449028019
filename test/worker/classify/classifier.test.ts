/**
 * The composite classifier with the default model pack (nudity + face/age): what it hands its
 * face part, and how it behaves when a frame fails.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifierOptions } from '../../support/stage-options.js';
import { openClassifier } from '../../../src/worker/classify/classifier.js';
import { faceAgeFactory } from '../../../src/worker/classify/load-face-part.js';
import { loadManifest, parseManifest } from '../../../src/worker/classify/manifest.js';
import type { Classifier } from '../../../src/worker/classify/types.js';
import { GraphBuilder, sha256Hex } from '../../../tools/model-builder/onnx/index.js';
import { ModelError } from '../../../src/domain/errors.js';
import type { RgbImage } from '../../../src/domain/frame.js';
import type { FrameSignals } from '../../../src/domain/signals.js';
import { benignImage } from './face-support.js';
import { modelsReady } from './support.js';

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly component?: string;
}

const lines: LogLine[] = [];
let classifier: Classifier;
let manifestPath: string;

beforeAll(async () => {
  manifestPath = (await modelsReady()).manifestPath;
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  classifier = await openClassifier({ logger, faceAge: faceAgeFactory, options: classifierOptions() });
}, 120_000);

afterAll(async () => {
  await classifier?.close();
});

describe('composite classifier', () => {
  it("gives the face part the composite's logger (the part makes none of its own)", () => {
    expect(classifier.faces).toBe(true);
    expect(lines).toContainEqual(expect.objectContaining({ component: 'face-age', msg: 'face and age models loaded' }));
    expect(lines).toContainEqual(expect.objectContaining({ component: 'face-age', msg: 'face and age models warmed up' }));
  });

  it('hands an injected manifest to the face part, which reads none from disk', async () => {
    const real = await loadManifest(manifestPath);
    const models = real.models.map((m) => ({ ...m, file: real.resolveFile(m) }));
    const injected = parseManifest({ version: 1, models }, join(real.path, '..', 'no-such-dir', 'manifest.json'));
    const c = await openClassifier({
      manifest: injected,
      faceAge: faceAgeFactory,
      options: classifierOptions({ nudity: false, custom: false, warmUp: false }),
    });
    try {
      expect(c.faces).toBe(true);
      expect(c.models).toEqual(['face-age']);
    } finally {
      await c.close();
    }
  });

  it('cascade: runs the face/age model only on frames the gate passes, given the other models first; a skipped frame has no faces', async () => {
    let analysed = 0;
    const asked: Pick<FrameSignals, 'nudity' | 'custom'>[] = [];
    let pass = false;
    const c = await openClassifier({
      // The real face part, counting its runs.
      faceAge: async (ctx) => {
        const real = await faceAgeFactory(ctx);
        return real && { warmUp: () => real.warmUp(), close: () => real.close(), analyse: (img) => (analysed++, real.analyse(img)) };
      },
      faceGate: (s) => {
        asked.push(s);
        return pass;
      },
      options: classifierOptions({ warmUp: false }),
    });
    try {
      const people = await benignImage('q0291.png');
      const skipped = await c.classify(people);
      expect(analysed).toBe(0);
      expect(skipped.faces).toBeUndefined();
      // The gate saw exactly what the nudity model said about this frame.
      expect(asked).toEqual([{ nudity: skipped.nudity }]);
      pass = true;
      const full = await c.classify(people);
      expect(analysed).toBe(1);
      // Same faces as the classifier without a gate finds: nothing lost when it runs.
      expect(full).toEqual(await classifier.classify(people));
    } finally {
      await c.close();
    }
  });

  it('fails a malformed frame alone with a stable code, and the next frames work', async () => {
    const people = await benignImage('q0291.png');
    const expected = await classifier.classify(people);
    expect(expected.faces!.length).toBeGreaterThanOrEqual(2);
    const malformed: RgbImage = { width: people.width, height: people.height, data: people.data.subarray(0, people.data.length - 3) };
    // The bad frame between good ones, all in flight at once, as frames of several streams are.
    const settled = await Promise.allSettled([classifier.classify(people), classifier.classify(malformed), classifier.classify(people)]);
    expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const err = (settled[1] as PromiseRejectedResult).reason as unknown;
    expect(err).toBeInstanceOf(ModelError);
    expect(err).toMatchObject({
      code: 'inference_failed',
      retryable: false,
      message: expect.stringMatching(/needs \d+ RGB bytes, got \d+/),
    });
    for (const r of [settled[0], settled[2]]) expect(r.status === 'fulfilled' && r.value).toEqual(expected);
    expect(await classifier.classify(people)).toEqual(expected);
  });

  it('propagates a failed onnxruntime run as inference_failed and keeps the session usable', async () => {
    // A drop-in model whose graph pins batch 1 while its manifest says any batch: a lone frame
    // runs, but frames that queue up together form a batch onnxruntime rejects.
    const g = new GraphBuilder('pinned_batch');
    const x = g.addInput('pixels', 'float32', [1, 3, 4, 4]);
    g.addOutput(g.op('ReduceMean', [x], { axes: [2, 3], keepdims: 0 }), 'float32', [1, 3], 'mean');
    const bytes = g.toBytes();
    const dir = await mkdtemp(join(tmpdir(), 'streamscreen-classifier-'));
    try {
      await writeFile(join(dir, 'pinned.onnx'), bytes);
      const entry = {
        id: 'pinned',
        kind: 'custom',
        file: 'pinned.onnx',
        sha256: sha256Hex(bytes),
        license: 'test',
        source: { package: 'test', version: '1' },
        input: { name: 'pixels', type: 'float32', layout: 'NCHW', size: [4, 4], normalisation: { divisor: 255 } },
        signals: { red: { output: 'mean', index: 0 } },
      };
      const manifest = parseManifest({ version: 1, models: [entry] }, join(dir, 'manifest.json'));
      const c = await openClassifier({ manifest, options: classifierOptions({ nudity: false, maxBatch: 4 }) });
      try {
        const frame = (red: number): RgbImage => ({ width: 4, height: 4, data: new Uint8Array(48).map((_, i) => (i % 3 === 0 ? red : 0)) });
        // The first frame runs alone; the two sent while it runs are batched together and fail.
        const settled = await Promise.allSettled([c.classify(frame(51)), c.classify(frame(102)), c.classify(frame(153))]);
        expect(settled.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
        expect(settled[0].status === 'fulfilled' && settled[0].value.custom!.red).toBeCloseTo(0.2, 6);
        for (const r of settled.slice(1)) {
          const err = (r as PromiseRejectedResult).reason as unknown;
          expect(err).toBeInstanceOf(ModelError);
          expect(err).toMatchObject({
            code: 'inference_failed',
            retryable: true,
            message: expect.stringMatching(/^model 'pinned': .*dimension/i),
          });
        }
        // Nothing is left wedged: the next frames run (one at a time, so they are not batched).
        expect((await c.classify(frame(204))).custom!.red).toBeCloseTo(0.8, 6);
        expect((await c.classify(frame(255))).custom!.red).toBeCloseTo(1, 6);
      } finally {
        await c.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
