/**
 * The few building blocks the face-api networks need beyond tools/model-builder/onnx/layers.ts, composed
 * from that toolkit: face-api's separable conv (depthwise + pointwise + bias), its leaky ReLU,
 * and its per-channel mean subtraction. face-api defines its networks in code (no topology
 * file), so the converters in convert-face.ts rebuild them block by block from these.
 */
import { conv2d, tensorF32, type GraphBuilder, type Padding, type Size2 } from './onnx/index.js';
import { asFloat32, requireWeight, type WeightMap } from './onnx/tfjs.js';

export interface BlockResult {
  readonly output: string;
  readonly size: Size2 | undefined;
  readonly channels: number;
}

/**
 * `tf.separableConv2d(x, depthwise, pointwise, strides, padding)` then `+ bias`, from the weights
 * `<prefix>/depthwise_filter` (HW·C·1), `<prefix>/pointwise_filter` (1·1·C·OUT) and
 * `<prefix>/bias`. The padding and strides belong to the depthwise step, as in TF; the bias rides
 * on the pointwise Conv (same sum, one node fewer).
 */
export function separableConv(
  g: GraphBuilder,
  x: string,
  weights: WeightMap,
  prefix: string,
  o: { padding: Padding; inputSize: Size2 | undefined; strides?: Size2 },
): BlockResult {
  const dw = requireWeight(weights, `${prefix}/depthwise_filter`);
  const pw = requireWeight(weights, `${prefix}/pointwise_filter`);
  const bias = requireWeight(weights, `${prefix}/bias`);
  if (dw.shape[3] !== 1) throw new Error(`${prefix}: channel multiplier ${dw.shape[3]} (face-api uses 1)`);
  if (pw.shape[2] !== dw.shape[2]) throw new Error(`${prefix}: pointwise takes ${pw.shape[2]} channels, depthwise gives ${dw.shape[2]}`);
  const depthwise = conv2d(g, x, {
    name: `${prefix}/depthwise`,
    kernel: asFloat32(dw),
    kernelShape: dw.shape,
    depthwise: true,
    padding: o.padding,
    inputSize: o.inputSize,
    ...(o.strides ? { strides: o.strides } : {}),
  });
  return conv2d(g, depthwise.output, {
    name: `${prefix}/pointwise`,
    kernel: asFloat32(pw),
    kernelShape: pw.shape,
    bias: asFloat32(bias),
    padding: 'valid',
    inputSize: depthwise.size,
  });
}

/** `tf.conv2d(x, <prefix>/filters, strides, padding) + <prefix>/bias`. */
export function plainConv(
  g: GraphBuilder,
  x: string,
  weights: WeightMap,
  prefix: string,
  o: { padding: Padding; inputSize: Size2 | undefined; strides?: Size2 },
): BlockResult {
  const filters = requireWeight(weights, `${prefix}/filters`);
  const bias = requireWeight(weights, `${prefix}/bias`);
  return conv2d(g, x, {
    name: prefix,
    kernel: asFloat32(filters),
    kernelShape: filters.shape,
    bias: asFloat32(bias),
    padding: o.padding,
    inputSize: o.inputSize,
    ...(o.strides ? { strides: o.strides } : {}),
  });
}

/**
 * face-api's `leaky(x) = relu(x − 0.1x) + 0.1x` is LeakyReLU with slope 0.1 (its constant is the
 * float32 0.1); ONNX LeakyRelu computes the same function in one node. The two differ only in
 * float32 rounding of positive values (x − 0.1x + 0.1x versus x), i.e. at most 1 ulp.
 */
export function leaky(g: GraphBuilder, x: string, name: string): string {
  return g.op('LeakyRelu', [x], { alpha: 0.1 }, name);
}

/**
 * face-api's `normalize(x, meanRgb).div(255)`: subtract a per-channel mean, then divide by 255,
 * as two float32 ops in the same order so the normalised tensor is bit-identical to tfjs's.
 * The graph input stays plain RGB 0..255, which is what the runtime produces from a frame.
 */
export function subtractMeanDiv255(g: GraphBuilder, x: string, meanRgb: readonly [number, number, number], name: string): string {
  const mean = g.constant(tensorF32(Float32Array.from(meanRgb), [1, 3, 1, 1]), `${name}/mean_rgb`);
  const divisor = g.constant(tensorF32([255], []), `${name}/divisor`);
  const centred = g.op('Sub', [x, mean], {}, `${name}/sub_mean`);
  return g.op('Div', [centred, divisor], {}, `${name}/div_255`);
}
