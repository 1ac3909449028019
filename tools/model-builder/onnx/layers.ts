/**
 * Layer emitters for TensorFlow-trained weights in an NCHW ONNX graph.
 *
 * TensorFlow keeps activations NHWC and kernels HWIO (depthwise: H, W, C, multiplier); ONNX's
 * Conv wants NCHW activations and OIHW kernels. Converters transpose the input once
 * (`nhwcToNchw`), keep everything NCHW inside, and hand TF-layout kernels to these helpers,
 * which transpose them, fold batch norm in float64, and turn TF's SAME padding into explicit
 * ONNX pads (TF puts the odd extra pixel at the end: bottom/right).
 *
 * Spatial sizes are tracked as `[height, width]` so SAME pads can be explicit; pass
 * `inputSize: undefined` to fall back to `auto_pad: SAME_UPPER` (same result, dynamic size).
 */
import { GraphBuilder, tensorF32, tensorI64, type Attrs } from './graph.js';

export type Size2 = readonly [number, number];
/** ONNX pads order for 2-D: [top, left, bottom, right]. */
export type Pads4 = readonly [number, number, number, number];
export type Padding = 'same' | 'valid' | Pads4;

/** Batch-norm statistics (any of gamma/beta may be absent: Keras `scale: false` / `center: false`). */
export interface BatchNormParams {
  readonly gamma?: Float32Array;
  readonly beta?: Float32Array;
  readonly mean: Float32Array;
  readonly variance: Float32Array;
  readonly epsilon: number;
}

export interface ConvResult {
  readonly output: string;
  /** Output spatial size, when the input size was known. */
  readonly size: Size2 | undefined;
  readonly channels: number;
}

/** HWIO → OIHW. */
export function hwioToOihw(kernel: Float32Array, shape: readonly number[]): Float32Array {
  const [kh, kw, ci, co] = shape4(shape, 'conv kernel');
  const out = new Float32Array(kernel.length);
  for (let h = 0; h < kh; h++)
    for (let w = 0; w < kw; w++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) out[((o * ci + i) * kh + h) * kw + w] = kernel[((h * kw + w) * ci + i) * co + o]!;
  return out;
}

/**
 * Depthwise HWCM → ONNX grouped-conv weight [C*M, 1, H, W] with group = C. TF orders the
 * depthwise outputs channel-major (c * M + m), which is exactly ONNX's group order.
 */
export function depthwiseToOihw(kernel: Float32Array, shape: readonly number[]): Float32Array {
  const [kh, kw, c, m] = shape4(shape, 'depthwise kernel');
  const out = new Float32Array(kernel.length);
  for (let h = 0; h < kh; h++)
    for (let w = 0; w < kw; w++)
      for (let ch = 0; ch < c; ch++)
        for (let j = 0; j < m; j++) out[((ch * m + j) * kh + h) * kw + w] = kernel[((h * kw + w) * c + ch) * m + j]!;
  return out;
}

/** TF SAME padding for one spatial size: total pad split with the extra pixel at the end. */
export function samePads(input: Size2, kernel: Size2, strides: Size2 = [1, 1], dilations: Size2 = [1, 1]): Pads4 {
  const pad = (i: 0 | 1): [number, number] => {
    const out = Math.ceil(input[i] / strides[i]);
    const effective = (kernel[i] - 1) * dilations[i] + 1;
    const total = Math.max((out - 1) * strides[i] + effective - input[i], 0);
    const before = Math.floor(total / 2);
    return [before, total - before];
  };
  const [top, bottom] = pad(0);
  const [left, right] = pad(1);
  return [top, left, bottom, right];
}

/** Output size of a conv/pool window with explicit pads. */
export function windowOutputSize(input: Size2, kernel: Size2, strides: Size2, pads: Pads4, dilations: Size2 = [1, 1]): Size2 {
  const dim = (i: 0 | 1): number => {
    const effective = (kernel[i] - 1) * dilations[i] + 1;
    return Math.floor((input[i] + pads[i] + pads[i + 2]! - effective) / strides[i]) + 1;
  };
  return [dim(0), dim(1)];
}

/**
 * Folds y = BN(conv(x, W) + b) into conv(x, W') + b' with W' = W·s, b' = (b − mean)·s + beta,
 * s = gamma / sqrt(variance + epsilon), per output channel. Computed in float64 and rounded
 * once, so the folded model differs from the unfolded one only by float32 rounding.
 * `weight` is OIHW-ordered (output channel outermost).
 */
export function foldBatchNorm(
  weight: Float32Array,
  outChannels: number,
  bias: Float32Array | undefined,
  bn: BatchNormParams,
): { weight: Float32Array; bias: Float32Array } {
  const per = weight.length / outChannels;
  if (!Number.isInteger(per)) throw new Error(`weight of ${weight.length} values does not split into ${outChannels} channels`);
  for (const [key, arr] of Object.entries({ gamma: bn.gamma, beta: bn.beta, mean: bn.mean, variance: bn.variance })) {
    if (arr && arr.length !== outChannels) throw new Error(`batch norm ${key} has ${arr.length} values, expected ${outChannels}`);
  }
  const w = new Float32Array(weight.length);
  const b = new Float32Array(outChannels);
  for (let o = 0; o < outChannels; o++) {
    const s = (bn.gamma ? bn.gamma[o]! : 1) / Math.sqrt(bn.variance[o]! + bn.epsilon);
    for (let k = 0; k < per; k++) w[o * per + k] = weight[o * per + k]! * s;
    b[o] = ((bias ? bias[o]! : 0) - bn.mean[o]!) * s + (bn.beta ? bn.beta[o]! : 0);
  }
  return { weight: w, bias: b };
}

export interface Conv2dOptions {
  /** Base name for the node and its initializers. */
  readonly name: string;
  /** TF-layout kernel: HWIO for a regular conv, HWCM for depthwise. */
  readonly kernel: Float32Array;
  readonly kernelShape: readonly number[];
  readonly bias?: Float32Array;
  readonly depthwise?: boolean;
  readonly strides?: Size2;
  readonly dilations?: Size2;
  readonly padding: Padding;
  /** Input spatial size; needed for explicit SAME pads and to report the output size. */
  readonly inputSize: Size2 | undefined;
  /** Batch norm applied right after this conv, folded into its weights. */
  readonly batchNorm?: BatchNormParams;
}

/** A Conv node (grouped for depthwise) from TF weights, with optional folded batch norm. */
export function conv2d(g: GraphBuilder, x: string, o: Conv2dOptions): ConvResult {
  const [kh, kw, ci, co] = shape4(o.kernelShape, `${o.name} kernel`);
  const outChannels = o.depthwise ? ci * co : co;
  let weight = o.depthwise ? depthwiseToOihw(o.kernel, o.kernelShape) : hwioToOihw(o.kernel, o.kernelShape);
  let bias = o.bias;
  if (bias && bias.length !== outChannels) throw new Error(`${o.name}: bias has ${bias.length} values, expected ${outChannels}`);
  if (o.batchNorm) ({ weight, bias } = foldBatchNorm(weight, outChannels, bias, o.batchNorm));
  const strides = o.strides ?? [1, 1];
  const dilations = o.dilations ?? [1, 1];
  const attrs: Record<string, Attrs[string]> = {
    kernel_shape: [kh, kw],
    strides: [...strides],
    dilations: [...dilations],
    group: o.depthwise ? ci : 1,
  };
  let size: Size2 | undefined;
  if (o.padding === 'same' && !o.inputSize) {
    attrs.auto_pad = 'SAME_UPPER';
  } else {
    const pads: Pads4 =
      o.padding === 'valid' ? [0, 0, 0, 0] : o.padding === 'same' ? samePads(o.inputSize!, [kh, kw], strides, dilations) : o.padding;
    attrs.pads = [...pads];
    if (o.inputSize) size = windowOutputSize(o.inputSize, [kh, kw], strides, pads, dilations);
  }
  const w = g.constant(tensorF32(weight, [outChannels, o.depthwise ? 1 : ci, kh, kw]), `${o.name}/weight`);
  const inputs = [x, w];
  if (bias) inputs.push(g.constant(tensorF32(bias, [outChannels]), `${o.name}/bias`));
  const output = g.op('Conv', inputs, attrs, o.name);
  return { output, size, channels: outChannels };
}

/** Batch norm on its own (not after a conv): a per-channel multiply-add on NCHW. */
export function batchNorm(g: GraphBuilder, x: string, name: string, bn: BatchNormParams): string {
  const c = bn.mean.length;
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    const s = (bn.gamma ? bn.gamma[i]! : 1) / Math.sqrt(bn.variance[i]! + bn.epsilon);
    scale[i] = s;
    shift[i] = (bn.beta ? bn.beta[i]! : 0) - bn.mean[i]! * s;
  }
  const mul = g.op('Mul', [x, g.constant(tensorF32(scale, [1, c, 1, 1]), `${name}/scale`)], {}, `${name}/mul`);
  return g.op('Add', [mul, g.constant(tensorF32(shift, [1, c, 1, 1]), `${name}/shift`)], {}, `${name}/add`);
}

/** Fully connected layer from a TF kernel [in, out]: Gemm(x, W) + b. */
export function dense(
  g: GraphBuilder,
  x: string,
  name: string,
  kernel: Float32Array,
  kernelShape: readonly number[],
  bias?: Float32Array,
): string {
  if (kernelShape.length !== 2) throw new Error(`${name}: dense kernel must be 2-D, got [${kernelShape.join(', ')}]`);
  const [inputs, units] = kernelShape as [number, number];
  const w = g.constant(tensorF32(kernel, [inputs, units]), `${name}/weight`);
  const args = [x, w];
  if (bias) args.push(g.constant(tensorF32(bias, [units]), `${name}/bias`));
  return g.op('Gemm', args, {}, name);
}

const clipBounds = new WeakMap<GraphBuilder, Map<string, string>>();

/** Clip(x, lo, hi) with shared scalar bound initializers (ReLU6 is clip(0, 6)). */
export function clip(g: GraphBuilder, x: string, lo: number, hi: number, name?: string): string {
  let cache = clipBounds.get(g);
  if (!cache) clipBounds.set(g, (cache = new Map()));
  const scalar = (v: number): string => {
    const key = String(v);
    let n = cache.get(key);
    if (!n) cache.set(key, (n = g.constant(tensorF32([v], []), `clip_bound_${key.replace(/[^0-9a-z]/gi, '_')}`)));
    return n;
  };
  return g.op('Clip', [x, scalar(lo), scalar(hi)], {}, name);
}

export type ActivationName = 'linear' | 'relu' | 'relu6' | 'sigmoid' | 'tanh' | 'softmax' | 'elu' | 'selu' | 'softplus';

/** Keras activation names → ONNX ops (softmax over the last axis). */
export function activation(g: GraphBuilder, x: string, kind: string, name?: string): string {
  const n = name;
  switch (kind) {
    case 'linear':
      return x;
    case 'relu':
      return g.op('Relu', [x], {}, n);
    case 'relu6':
      return clip(g, x, 0, 6, name);
    case 'sigmoid':
      return g.op('Sigmoid', [x], {}, n);
    case 'tanh':
      return g.op('Tanh', [x], {}, n);
    case 'softmax':
      return g.op('Softmax', [x], { axis: -1 }, n);
    case 'elu':
      return g.op('Elu', [x], {}, n);
    case 'selu':
      return g.op('Selu', [x], {}, n);
    case 'softplus':
      return g.op('Softplus', [x], {}, n);
    default:
      throw new Error(`unsupported activation '${kind}'`);
  }
}

export function nhwcToNchw(g: GraphBuilder, x: string, name = 'to_nchw'): string {
  return g.op('Transpose', [x], { perm: [0, 3, 1, 2] }, name);
}

export function nchwToNhwc(g: GraphBuilder, x: string, name = 'to_nhwc'): string {
  return g.op('Transpose', [x], { perm: [0, 2, 3, 1] }, name);
}

/** Average or max pooling with TF semantics (SAME average pooling excludes the padding). */
export function pool2d(
  g: GraphBuilder,
  x: string,
  o: { name: string; kind: 'avg' | 'max'; poolSize: Size2; strides?: Size2; padding: Padding; inputSize: Size2 | undefined },
): { output: string; size: Size2 | undefined } {
  const strides = o.strides ?? o.poolSize;
  const attrs: Record<string, Attrs[string]> = { kernel_shape: [...o.poolSize], strides: [...strides] };
  let size: Size2 | undefined;
  if (o.padding === 'same' && !o.inputSize) attrs.auto_pad = 'SAME_UPPER';
  else {
    const pads: Pads4 =
      o.padding === 'valid' ? [0, 0, 0, 0] : o.padding === 'same' ? samePads(o.inputSize!, o.poolSize, strides) : o.padding;
    attrs.pads = [...pads];
    if (o.inputSize) size = windowOutputSize(o.inputSize, o.poolSize, strides, pads);
  }
  if (o.kind === 'avg') attrs.count_include_pad = 0;
  return { output: g.op(o.kind === 'avg' ? 'AveragePool' : 'MaxPool', [x], attrs, o.name), size };
}

/** Reshape with a constant target shape (0 keeps a dim, -1 infers it). */
export function reshape(g: GraphBuilder, x: string, shape: readonly number[], name = 'reshape'): string {
  return g.op('Reshape', [x, g.constant(tensorI64(shape), `${name}/shape`)], {}, name);
}

function shape4(shape: readonly number[], what: string): [number, number, number, number] {
  if (shape.length !== 4) throw new Error(`${what} must be 4-D, got [${shape.join(', ')}]`);
  return shape as unknown as [number, number, number, number];
}
