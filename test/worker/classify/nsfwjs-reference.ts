/**
 * The original nsfwjs MobileNetV2 running in @tensorflow/tfjs: the oracle the converted ONNX
 * model is compared with. Loaded through nsfwjs's own `load()` with its bundled model, and fed
 * through nsfwjs's own `infer()` (which does the `toFloat().div(255)`), so the reference is the
 * package as its users run it. Backends: wasm (what the benchmark compares against) or cpu
 * (tfjs's plain JS kernels).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { load, type NSFWJS } from 'nsfwjs';
import { MobileNetV2Model } from 'nsfwjs/models/mobilenet_v2';
import type { RgbImage } from '../../../src/domain/frame.js';

let model: Promise<NSFWJS> | undefined;

async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  // nsfwjs and tfjs print banners ("use tfjs-node", "you're using the model") on first use.
  const { info, warn, log } = console;
  console.info = console.warn = console.log = () => {};
  try {
    return await fn();
  } finally {
    Object.assign(console, { info, warn, log });
  }
}

export async function useBackend(backend: 'wasm' | 'cpu'): Promise<void> {
  if (tf.getBackend() === backend) return;
  await quietly(async () => {
    if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} did not initialise`);
    await tf.ready();
    tf.tidy(() => tf.scalar(1).add(1)); // the first op prints the tfjs-node banner
  });
}

export async function nsfwjsModel(backend: 'wasm' | 'cpu' = 'wasm'): Promise<NSFWJS> {
  await useBackend(backend);
  model ??= quietly(() => load('MobileNetV2', { modelDefinitions: [MobileNetV2Model] } as Parameters<typeof load>[1]));
  return model;
}

/** nsfwjs's class probabilities for an image already at 224x224 (so nsfwjs does not resize). */
export async function nsfwjsProbabilities(image: RgbImage, backend: 'wasm' | 'cpu' = 'wasm'): Promise<Float32Array> {
  if (image.width !== 224 || image.height !== 224) throw new Error('reference input must be 224x224');
  const m = await nsfwjsModel(backend);
  const input = tf.tensor3d(Int32Array.from(image.data), [224, 224, 3], 'int32');
  try {
    const out = m.infer(input);
    const values = (await out.data()) as Float32Array;
    out.dispose();
    return values;
  } finally {
    input.dispose();
  }
}
