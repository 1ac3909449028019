/**
 * nsfwjs@4.4.0's MobileNetV2 (Keras layers model, uint8-quantised weights) → ONNX.
 *
 * nsfwjs ships this model for bundlers: `dist/models/mobilenet_v2/model.min.js` is a UMD module
 * exporting the model.json object, and `group1-shard1of1.min.js` one exporting the weight shard
 * as base64. We load both through Node's CommonJS loader (exactly what nsfwjs's own dynamic
 * import does), decode the weights with tfjs's dequantisation, and convert the topology.
 *
 * nsfwjs's preprocessing, which the ONNX graph reproduces: `pixels.toFloat().div(255)` on the
 * NHWC RGB image (resizing with bilinear/alignCorners only if it is not already 224×224).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import {
  convertKerasModel,
  decodeWeights,
  sha256Hex,
  type ModelConverter,
  type ModelSourceInfo,
  type TfjsModelJson,
  type Weight,
} from './onnx/index.js';

export const NSFW_MODEL_ID = 'nsfw-mobilenet-v2';
export const NSFW_MODEL_FILE = 'nsfw-mobilenet-v2.onnx';
/** nsfwjs's class order (its NSFW_CLASSES), lower-cased. */
export const NSFW_LABELS = ['drawing', 'hentai', 'neutral', 'porn', 'sexy'] as const;
export const NSFW_INPUT_SIZE = 224;
export const NSFW_PACKAGE = 'nsfwjs';
/** The version whose weights we reviewed; another installed version fails the build loudly. */
export const NSFW_EXPECTED_VERSION = '4.4.0';

const MODEL_JS = 'dist/models/mobilenet_v2/model.min.js';
const SHARD_JS = 'dist/models/mobilenet_v2/group1-shard1of1.min.js';

export interface NsfwjsSource {
  readonly root: string;
  readonly version: string;
  readonly license: string;
  readonly json: TfjsModelJson;
  readonly weights: Map<string, Weight>;
  readonly sha256: string;
}

/** Root folder of the installed nsfwjs (its package.json is not exported, so resolve the entry). */
export function nsfwjsRoot(): string {
  const require = createRequire(import.meta.url);
  const entry = require.resolve(NSFW_PACKAGE); // <root>/dist/cjs/index.js
  return resolve(dirname(entry), '..', '..');
}

async function packageInfo(root: string): Promise<{ version: string; license: string }> {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { name?: string; version?: string; license?: string };
  if (pkg.name !== NSFW_PACKAGE || !pkg.version) throw new Error(`${root} is not the nsfwjs package`);
  return { version: pkg.version, license: pkg.license ?? 'UNKNOWN' };
}

async function sourceHash(root: string): Promise<string> {
  return sha256Hex(await readFile(join(root, MODEL_JS)), await readFile(join(root, SHARD_JS)));
}

/** The original model's topology and dequantised weights, from the installed package. */
export async function loadNsfwjsMobileNetV2(root = nsfwjsRoot()): Promise<NsfwjsSource> {
  const { version, license } = await packageInfo(root);
  const require = createRequire(join(root, 'package.json'));
  const modelModule = require(join(root, MODEL_JS)) as TfjsModelJson | { default: TfjsModelJson };
  const json = 'default' in modelModule ? modelModule.default : modelModule;
  const shardModule = require(join(root, SHARD_JS)) as string | { default: string };
  const shardBase64 = typeof shardModule === 'string' ? shardModule : shardModule.default;
  if (!json?.weightsManifest || typeof shardBase64 !== 'string') throw new Error(`unexpected nsfwjs model bundle layout in ${root}`);
  const paths = json.weightsManifest.flatMap((g) => g.paths);
  if (paths.length !== 1 || paths[0] !== 'group1-shard1of1')
    throw new Error(`nsfwjs MobileNetV2 expects one shard, manifest lists ${paths.join(', ')}`);
  const shard = new Uint8Array(Buffer.from(shardBase64, 'base64'));
  const weights = decodeWeights(json.weightsManifest, () => shard);
  return { root, version, license, json, weights, sha256: await sourceHash(root) };
}

export const nsfwConverter: ModelConverter = {
  id: NSFW_MODEL_ID,
  file: NSFW_MODEL_FILE,
  name: 'convert-nsfw',
  // 1: Keras → ONNX with folded batch norm and zero padding, uint8 NHWC input, x / 255 in-graph.
  version: '1',

  async source(): Promise<ModelSourceInfo> {
    const root = nsfwjsRoot();
    const { version, license } = await packageInfo(root);
    if (version !== NSFW_EXPECTED_VERSION) {
      throw new Error(`nsfwjs ${version} is installed; the converter and its parity tests are for ${NSFW_EXPECTED_VERSION}`);
    }
    return { package: NSFW_PACKAGE, version, license, sha256: await sourceHash(root), files: [MODEL_JS, SHARD_JS] };
  },

  async convert() {
    const src = await loadNsfwjsMobileNetV2();
    const conversion = convertKerasModel(src.json.modelTopology, src.weights, {
      graphName: 'nsfwjs_mobilenet_v2',
      inputName: 'image',
      inputType: 'uint8',
      inputDivisor: 255,
      outputName: 'probabilities',
      metadata: {
        source: `${NSFW_PACKAGE}@${src.version}:${MODEL_JS}`,
        source_sha256: src.sha256,
        labels: NSFW_LABELS.join(','),
      },
    });
    return {
      bytes: conversion.bytes,
      entry: {
        kind: 'nudity',
        input: {
          name: conversion.inputName,
          type: 'uint8',
          layout: 'NHWC',
          size: [NSFW_INPUT_SIZE, NSFW_INPUT_SIZE],
          channels: 3,
          batch: 'dynamic',
          normalisation: { divisor: 255, mean: [0, 0, 0], std: [1, 1, 1], inGraph: true, description: 'x / 255 (float32), RGB, in-graph' },
        },
        outputs: [conversion.outputName],
        labels: [...NSFW_LABELS],
        accuracy: {
          value: 0.9,
          metric: 'accuracy',
          source: 'nsfwjs README: "~90% with small [MobileNetV2] and ~93% with midsized model"; expect false positives on benign images',
        },
      },
    };
  },
};
