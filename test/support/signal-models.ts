/**
 * Tiny ONNX models whose outputs a test controls through the colour of the frames it streams,
 * built with the repository's own ONNX writer (tools/model-builder/onnx/), the way
 * test/worker/classify/drop-in-classifier.test.ts builds its drop-in model. No real content.
 *
 * - `test-explicit` (kind nudity, the nudity model's five labels): the frame's mean colour
 *   through one linear layer and a softmax. Red frames score porn ~1 (explicit ~1), blue ones
 *   neutral ~1; grey or mixed frames (testsrc2) score every label ~0.2 (explicit ~0.4, under
 *   every threshold).
 * - `test-age` (kind custom, signal `age`): apparent age 45 - 30 x mean green, so green-heavy
 *   frames (yellow: age 15) show a possible minor and others an adult (red: 45, grey: ~30).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder, sha256Hex, tensorF32 } from '../../tools/model-builder/onnx/index.js';
import { createCustomModel } from '../../src/worker/classify/custom.js';
import type { FaceAgeFactory } from '../../src/worker/classify/types.js';

const SIZE = 4;
const LABELS = ['drawing', 'hentai', 'neutral', 'porn', 'sexy'];

function meanColourModel(name: string, weights: number[][], bias: number[] | undefined, outputs: number, softmax: boolean): Uint8Array {
  const g = new GraphBuilder(name);
  const x = g.addInput('pixels', 'float32', ['n', 3, SIZE, SIZE]);
  const mean = g.op('ReduceMean', [x], { axes: [2, 3], keepdims: 0 }, 'mean');
  const inputs = [mean, g.constant(tensorF32(weights.flat(), [3, outputs]), 'w')];
  if (bias) inputs.push(g.constant(tensorF32(bias, [outputs]), 'b'));
  const linear = g.op('Gemm', inputs, {}, 'gemm');
  g.addOutput(softmax ? g.op('Softmax', [linear], { axis: 1 }) : linear, 'float32', ['n', outputs], 'out');
  return g.toBytes({ producer: 'streamscreen-test' });
}

const input = { name: 'pixels', type: 'float32', layout: 'NCHW', size: [SIZE, SIZE], normalisation: { divisor: 255 } };

/** Writes both models and a manifest naming them; returns the manifest's path. */
export async function writeSignalModels(withAge = true): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'streamscreen-signal-models-'));
  //            drawing hentai neutral porn sexy
  const explicit = meanColourModel(
    'test_explicit',
    [
      [0, 0, -10, 10, 0], // red
      [0, 0, 0, 0, 0], // green
      [0, 0, 10, -10, 0], // blue
    ],
    undefined,
    5,
    true,
  );
  const age = meanColourModel('test_age', [[0], [-30], [0]], [45], 1, false);
  await writeFile(join(dir, 'explicit.onnx'), explicit);
  await writeFile(join(dir, 'age.onnx'), age);
  const source = { package: 'streamscreen-test', version: '1.0.0' };
  const models = [
    {
      id: 'test-explicit',
      kind: 'nudity',
      file: 'explicit.onnx',
      sha256: sha256Hex(explicit),
      license: 'test',
      source,
      input,
      labels: LABELS,
      outputs: ['out'],
    },
    ...(withAge
      ? [
          {
            id: 'test-age',
            kind: 'test-age',
            file: 'age.onnx',
            sha256: sha256Hex(age),
            license: 'test',
            source,
            input,
            signals: { age: { output: 'out', index: 0 } },
          },
        ]
      : []),
  ];
  const manifestPath = join(dir, 'manifest.json');
  await writeFile(manifestPath, JSON.stringify({ version: 1, models }, null, 2));
  return manifestPath;
}

/**
 * The face part of the composite classifier, driven by `test-age`: one face covering the frame
 * with the model's apparent age. Plugged in where the worker plugs its face detector and age model.
 */
export const testFaceAge: FaceAgeFactory = async ({ manifest, session }) => {
  const entry = manifest.models.find((m) => m.id === 'test-age');
  if (!entry) return undefined;
  const model = await createCustomModel(manifest, entry, session);
  return {
    warmUp: () => model.warmUp(),
    analyse: async (image) => ({ faces: [{ box: [0, 0, image.width, image.height], score: 1, age: (await model.signals(image)).age! }] }),
    close: () => model.close(),
  };
};
