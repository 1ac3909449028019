/**
 * Converts face-api@1.7.15's TinyFaceDetector and AgeGenderNet to ONNX.
 *
 * face-api ships only weights (`*-weights_manifest.json` + `.bin`, uint8-quantised); the
 * networks are defined in its code. The graphs below rebuild them layer by layer, in the same
 * order and with the same padding, so the ONNX outputs equal tfjs's up to float32 rounding:
 *
 * TinyFaceDetector (face-api: TinyYolov2Base.runMobilenet, withSeparableConvs, first layer conv2d)
 *   (x − mean)/255 → conv0 3×3 'valid' → leaky → maxpool 2/2 SAME
 *   → [sepconv 3×3 (explicit 1-px pad) → leaky → maxpool 2/2 SAME] × 4 (conv1..conv4)
 *   → sepconv conv5 → leaky → maxpool 2/1 SAME → conv8 1×1 → grid [N, 5·5, S/32, S/32]
 *   No batch norm in this variant (face-api's separable path has none), so nothing to fold.
 *   The spatial size is symbolic: SAME pools use auto_pad SAME_UPPER (TF's bottom/right extra
 *   pixel), which is what lets one file serve every input size that is a multiple of 32.
 *
 * AgeGenderNet (face-api: TinyXception(2) + avgPool 7/2 + two dense heads), 112×112 input:
 *   (x − mean)/255 → conv_in 3×3/2 SAME → relu → reduction_block_0 (no input relu)
 *   → reduction_block_1 → main_block_0, main_block_1 → exit reduction_block
 *   → relu(sepconv exit_flow/separable_conv) → avgpool 7 → fc/age (age, years),
 *   fc/gender → softmax ([male, female]).
 *
 * Both graphs take NCHW float RGB in 0..255; the mean subtraction and /255 are inside the graph.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GraphBuilder, pool2d, reshape, sha256Hex, type ModelConverter, type ModelSourceInfo, type Size2 } from './onnx/index.js';
import { loadTfjsModelFiles, requireWeight, type WeightMap } from './onnx/tfjs.js';
import { leaky, plainConv, separableConv, subtractMeanDiv255, type BlockResult } from './convert-face-ops.js';
import {
  AGE_GENDER_MODEL,
  AGE_INPUT_SIZE,
  AGE_MEAN_RGB,
  AGE_UPSTREAM_MAE_YEARS,
  DETECTOR_ANCHORS,
  DETECTOR_BOX_ENCODING,
  DETECTOR_DEFAULT_INPUT_SIZE,
  DETECTOR_MEAN_RGB,
  DETECTOR_STRIDE,
  FACE_API_PACKAGE,
  FACE_API_VERSION,
  FACE_DETECTOR_MODEL,
  GENDER_LABELS,
} from '../../src/worker/classify/face-constants.js';

export const DETECTOR_WEIGHTS = 'tiny_face_detector_model-weights_manifest.json';
export const AGE_GENDER_WEIGHTS = 'age_gender_model-weights_manifest.json';

/** ONNX graph of the TinyFaceDetector; input `image` [N,3,S,S], output `grid` [N,25,S/32,S/32]. */
export function buildFaceDetectorGraph(weights: WeightMap): GraphBuilder {
  const g = new GraphBuilder('tiny_face_detector');
  const image = g.addInput('image', 'float32', ['batch', 3, 'height', 'width']);
  let x = subtractMeanDiv255(g, image, DETECTOR_MEAN_RGB, 'normalise');
  // conv0 is a plain conv2d with 'valid' padding (face-api's isFirstLayerConv2d): no pad at all.
  x = leaky(g, plainConv(g, x, weights, 'conv0', { padding: 'valid', inputSize: undefined }).output, 'conv0/leaky');
  x = maxPoolSame(g, x, 2, 'pool0');
  for (let i = 1; i <= 5; i++) {
    // face-api pads 1 px on every side by hand (tf.pad) and runs the separable conv 'valid'.
    const conv = separableConv(g, x, weights, `conv${i}`, { padding: [1, 1, 1, 1], inputSize: undefined });
    x = leaky(g, conv.output, `conv${i}/leaky`);
    x = maxPoolSame(g, x, i < 5 ? 2 : 1, `pool${i}`);
  }
  // conv6/conv7 exist only in the 8/9-filter variants; this model has 7 filter sizes.
  for (const absent of ['conv6', 'conv7']) {
    if ([...weights.keys()].some((k) => k.startsWith(`${absent}/`))) {
      throw new Error(`tiny face detector weights contain ${absent}: not the 7-layer variant face-api ${FACE_API_VERSION} ships`);
    }
  }
  const out = plainConv(g, x, weights, 'conv8', { padding: 'valid', inputSize: undefined });
  const channels = DETECTOR_ANCHORS.length * DETECTOR_BOX_ENCODING;
  if (out.channels !== channels) throw new Error(`conv8 has ${out.channels} outputs, expected ${channels}`);
  g.addOutput(out.output, 'float32', ['batch', channels, 'grid_h', 'grid_w'], 'grid');
  return g;
}

function maxPoolSame(g: GraphBuilder, x: string, stride: number, name: string): string {
  return pool2d(g, x, { name, kind: 'max', poolSize: [2, 2], strides: [stride, stride], padding: 'same', inputSize: undefined }).output;
}

/** ONNX graph of the AgeGenderNet; input `face` [N,3,112,112], outputs `age` [N], `gender` [N,2]. */
export function buildAgeGenderGraph(weights: WeightMap): GraphBuilder {
  const g = new GraphBuilder('age_gender_net');
  const face = g.addInput('face', 'float32', ['batch', 3, AGE_INPUT_SIZE, AGE_INPUT_SIZE]);
  const normalised = subtractMeanDiv255(g, face, AGE_MEAN_RGB, 'normalise');
  const convIn = plainConv(g, normalised, weights, 'entry_flow/conv_in', {
    padding: 'same',
    inputSize: [AGE_INPUT_SIZE, AGE_INPUT_SIZE],
    strides: [2, 2],
  });
  let x: BlockResult = { ...convIn, output: g.op('Relu', [convIn.output], {}, 'entry_flow/conv_in/relu') };
  x = reductionBlock(g, x, weights, 'entry_flow/reduction_block_0', false);
  x = reductionBlock(g, x, weights, 'entry_flow/reduction_block_1', true);
  for (let i = 0; i < 2; i++) x = mainBlock(g, x, weights, `middle_flow/main_block_${i}`);
  if ([...weights.keys()].some((k) => k.startsWith('middle_flow/main_block_2/'))) {
    throw new Error('age/gender weights have a third middle-flow block: not the TinyXception(2) face-api ships');
  }
  x = reductionBlock(g, x, weights, 'exit_flow/reduction_block', true);
  const exit = separableConv(g, x.output, weights, 'exit_flow/separable_conv', { padding: 'same', inputSize: x.size });
  const features = g.op('Relu', [exit.output], {}, 'exit_flow/separable_conv/relu');
  if (!exit.size || exit.size[0] !== 7 || exit.size[1] !== 7) throw new Error(`feature map is ${exit.size?.join('×')}, expected 7×7`);
  // face-api: tf.avgPool(features, [7, 7], [2, 2], 'valid') on the 7×7 map → one value per channel.
  const pooled = pool2d(g, features, {
    name: 'avg_pool',
    kind: 'avg',
    poolSize: [7, 7],
    strides: [2, 2],
    padding: 'valid',
    inputSize: exit.size,
  });
  const flat = reshape(g, pooled.output, [-1, exit.channels], 'flatten');
  const ageW = requireWeight(weights, 'fc/age/weights', [exit.channels, 1]);
  const genderW = requireWeight(weights, 'fc/gender/weights', [exit.channels, 2]);
  const age2d = denseLayer(g, flat, weights, 'fc/age', ageW.shape);
  const age = reshape(g, age2d, [-1], 'fc/age/squeeze');
  const genderLogits = denseLayer(g, flat, weights, 'fc/gender', genderW.shape);
  const gender = g.op('Softmax', [genderLogits], { axis: 1 }, 'fc/gender/softmax');
  g.addOutput(age, 'float32', ['batch'], 'age');
  g.addOutput(gender, 'float32', ['batch', GENDER_LABELS.length], 'gender');
  return g;
}

function denseLayer(g: GraphBuilder, x: string, weights: WeightMap, prefix: string, shape: readonly number[]): string {
  const w = requireWeight(weights, `${prefix}/weights`);
  const b = requireWeight(weights, `${prefix}/bias`);
  // Gemm(x, W[in,out]) + b, exactly tf.matMul then tf.add.
  const wName = g.constant({ type: 'float32', dims: [...shape], data: w.data }, `${prefix}/weight`);
  const bName = g.constant({ type: 'float32', dims: [shape[1]!], data: b.data }, `${prefix}/bias`);
  return g.op('Gemm', [x, wName, bName], {}, prefix);
}

/**
 * TinyXception reduction block: relu? → sepconv0 → relu → sepconv1 → maxpool 3/2 SAME, plus the
 * residual 1×1 stride-2 `expansion_conv` of the block input (not activated).
 */
function reductionBlock(g: GraphBuilder, x: BlockResult, weights: WeightMap, prefix: string, activateInput: boolean): BlockResult {
  const input = activateInput ? g.op('Relu', [x.output], {}, `${prefix}/relu_in`) : x.output;
  const s0 = separableConv(g, input, weights, `${prefix}/separable_conv0`, { padding: 'same', inputSize: x.size });
  const s1 = separableConv(g, g.op('Relu', [s0.output], {}, `${prefix}/relu0`), weights, `${prefix}/separable_conv1`, {
    padding: 'same',
    inputSize: s0.size,
  });
  const pooled = pool2d(g, s1.output, {
    name: `${prefix}/max_pool`,
    kind: 'max',
    poolSize: [3, 3],
    strides: [2, 2],
    padding: 'same',
    inputSize: s1.size,
  });
  const expansion = plainConv(g, x.output, weights, `${prefix}/expansion_conv`, { padding: 'same', inputSize: x.size, strides: [2, 2] });
  assertSameSize(pooled.size, expansion.size, prefix);
  return { output: g.op('Add', [pooled.output, expansion.output], {}, `${prefix}/add`), size: pooled.size, channels: s1.channels };
}

/** TinyXception main block: three (relu → sepconv) steps plus the identity residual. */
function mainBlock(g: GraphBuilder, x: BlockResult, weights: WeightMap, prefix: string): BlockResult {
  let out: BlockResult = x;
  for (let i = 0; i < 3; i++) {
    const activated = g.op('Relu', [out.output], {}, `${prefix}/relu${i}`);
    out = separableConv(g, activated, weights, `${prefix}/separable_conv${i}`, { padding: 'same', inputSize: out.size });
  }
  assertSameSize(out.size, x.size, prefix);
  return { output: g.op('Add', [out.output, x.output], {}, `${prefix}/add`), size: out.size, channels: out.channels };
}

function assertSameSize(a: Size2 | undefined, b: Size2 | undefined, where: string): void {
  if (!a || !b || a[0] !== b[0] || a[1] !== b[1]) throw new Error(`${where}: branch sizes differ (${a?.join('×')} vs ${b?.join('×')})`);
}

interface FaceApiPackage {
  readonly root: string;
  readonly version: string;
  readonly license: string;
}

/** The installed face-api, after checking it is the version this converter was written for. */
export async function faceApiPackage(): Promise<FaceApiPackage> {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve(`${FACE_API_PACKAGE}/package.json`);
  const pkg = JSON.parse(await readFile(pkgPath, 'utf8')) as { name?: string; version?: string; license?: string };
  if (pkg.name !== FACE_API_PACKAGE || !pkg.version) throw new Error(`${pkgPath} is not the ${FACE_API_PACKAGE} package`);
  if (pkg.version !== FACE_API_VERSION) {
    throw new Error(`${FACE_API_PACKAGE} ${pkg.version} is installed; the face converter and its parity tests are for ${FACE_API_VERSION}`);
  }
  return { root: dirname(pkgPath), version: pkg.version, license: pkg.license ?? 'UNKNOWN' };
}

/** The weight files of one face-api network: its manifest and the shards it lists. */
async function sourceFiles(root: string, manifestName: string): Promise<{ files: string[]; sha256: string }> {
  const manifestPath = join(root, 'model', manifestName);
  const bytes = await readFile(manifestPath);
  const groups = JSON.parse(bytes.toString('utf8')) as Array<{ paths: string[] }>;
  const files = [`model/${manifestName}`, ...groups.flatMap((g) => g.paths.map((p) => `model/${p}`))];
  const parts = await Promise.all(files.map((f) => readFile(join(root, f))));
  return { files, sha256: sha256Hex(...parts) };
}

function faceConverter(o: {
  id: string;
  weightsManifest: string;
  build: (weights: WeightMap) => GraphBuilder;
  docString: string;
  metadata: Record<string, string>;
  entry: Awaited<ReturnType<ModelConverter['convert']>>['entry'];
}): ModelConverter {
  return {
    id: o.id,
    file: `${o.id}.onnx`,
    name: 'convert-face',
    // 1: face-api 1.7.15 networks rebuilt op for op, NCHW float32 RGB 0..255 input, normalisation in-graph.
    version: '1',
    async source(): Promise<ModelSourceInfo> {
      const pkg = await faceApiPackage();
      const { files, sha256 } = await sourceFiles(pkg.root, o.weightsManifest);
      return { package: FACE_API_PACKAGE, version: pkg.version, license: pkg.license, sha256, files };
    },
    async convert() {
      const pkg = await faceApiPackage();
      const src = await loadTfjsModelFiles(join(pkg.root, 'model', o.weightsManifest));
      const { sha256 } = await sourceFiles(pkg.root, o.weightsManifest);
      const bytes = o.build(src.weights).toBytes({
        producer: 'streamscreen convert-face',
        docString: o.docString,
        metadata: { source: `${FACE_API_PACKAGE}@${pkg.version}`, source_sha256: sha256, ...o.metadata },
      });
      return { bytes, entry: o.entry };
    },
  };
}

const meanOver255 = (mean: readonly number[]): [number, number, number] => [mean[0]! / 255, mean[1]! / 255, mean[2]! / 255];

export const faceDetectorConverter: ModelConverter = faceConverter({
  id: FACE_DETECTOR_MODEL,
  weightsManifest: DETECTOR_WEIGHTS,
  build: buildFaceDetectorGraph,
  docString: `${FACE_API_PACKAGE}@${FACE_API_VERSION} TinyFaceDetector (MIT), converted from its tfjs weights`,
  metadata: { anchors: JSON.stringify(DETECTOR_ANCHORS), labels: 'face' },
  entry: {
    kind: 'face-detector',
    input: {
      name: 'image',
      type: 'float32',
      layout: 'NCHW',
      size: [DETECTOR_DEFAULT_INPUT_SIZE, DETECTOR_DEFAULT_INPUT_SIZE],
      channels: 3,
      batch: 'dynamic',
      normalisation: {
        divisor: 255,
        mean: meanOver255(DETECTOR_MEAN_RGB),
        std: [1, 1, 1],
        inGraph: true,
        description: `(x − [${DETECTOR_MEAN_RGB.join(', ')}]) / 255 in float32, RGB, in-graph; feed float RGB 0..255`,
      },
    },
    inputSizes: `any multiple of ${DETECTOR_STRIDE} (square); ${DETECTOR_DEFAULT_INPUT_SIZE} is face-api's default`,
    preprocessing:
      'pad the frame with black at the bottom or right to a square, bilinear resize (TF alignCorners=false, halfPixelCenters=false) to size×size',
    outputs: ['grid'],
    outputLayout: `grid [N, ${DETECTOR_ANCHORS.length}·${DETECTOR_BOX_ENCODING}, size/32, size/32]: channel a·5 + k for anchor a and k = x, y, w, h, objectness (raw; sigmoid for x, y, objectness; exp × anchor for w, h)`,
    labels: ['face'],
    anchors: DETECTOR_ANCHORS,
    postprocessing: 'score = sigmoid(objectness) > threshold (face-api default 0.5), then NMS at IoU 0.4',
    accuracyNote: 'upstream publishes no detection accuracy figure for the tiny face detector',
  },
});

export const ageGenderConverter: ModelConverter = faceConverter({
  id: AGE_GENDER_MODEL,
  weightsManifest: AGE_GENDER_WEIGHTS,
  build: buildAgeGenderGraph,
  docString: `${FACE_API_PACKAGE}@${FACE_API_VERSION} AgeGenderNet (MIT), converted from its tfjs weights`,
  metadata: { gender_labels: GENDER_LABELS.join(',') },
  entry: {
    kind: 'age-gender',
    input: {
      name: 'face',
      type: 'float32',
      layout: 'NCHW',
      size: [AGE_INPUT_SIZE, AGE_INPUT_SIZE],
      channels: 3,
      batch: 'dynamic',
      normalisation: {
        divisor: 255,
        mean: meanOver255(AGE_MEAN_RGB),
        std: [1, 1, 1],
        inGraph: true,
        description: `(x − [${AGE_MEAN_RGB.join(', ')}]) / 255 in float32, RGB, in-graph; feed float RGB 0..255`,
      },
    },
    preprocessing:
      'crop the detection box clipped to the frame and floored to whole pixels, pad with black to a centred square, bilinear resize (TF alignCorners=false, halfPixelCenters=false) to 112×112',
    outputs: ['age', 'gender'],
    outputLayout: 'age [N]: apparent age in years (regression); gender [N, 2]: softmax over labels',
    labels: [...GENDER_LABELS],
    accuracy: {
      value: AGE_UPSTREAM_MAE_YEARS.overall,
      metric: 'age MAE (years)',
      ages9to18: AGE_UPSTREAM_MAE_YEARS.ages9to18,
      source: `face-api upstream: age mean absolute error ${AGE_UPSTREAM_MAE_YEARS.overall} years overall, ${AGE_UPSTREAM_MAE_YEARS.ages9to18} for ages 9–18; apparent age is an estimate, never a certainty`,
    },
  },
});

export const faceConverters: readonly ModelConverter[] = [faceDetectorConverter, ageGenderConverter];
