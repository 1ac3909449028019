/**
 * Keras (tfjs layers format) topology → ONNX.
 *
 * Supported layers: InputLayer, ZeroPadding2D (folded into the next conv's pads when it is that
 * conv's only input, else a Pad node), Conv2D, DepthwiseConv2D (Conv with group = C),
 * BatchNormalization (folded into the preceding conv when it is that conv's only consumer),
 * ReLU (ReLU6 → Clip), Activation, Add, Multiply, Concatenate (channel axis), AveragePooling2D,
 * MaxPooling2D, GlobalAveragePooling2D, Flatten, Dense (Gemm), Dropout (identity at inference).
 * Anything else fails the conversion with the layer's name and class: better no model than a
 * silently wrong one.
 *
 * The ONNX model takes the same NHWC image the Keras model takes (optionally as uint8 with the
 * `x / divisor` normalisation done in-graph, exactly as tfjs callers compute it: a float32 Div),
 * transposes once to NCHW, and returns the final layer's output.
 */
import { GraphBuilder, tensorF32, type ElemType } from './graph.js';
import {
  activation,
  batchNorm,
  clip,
  conv2d,
  dense,
  nchwToNhwc,
  nhwcToNchw,
  pool2d,
  type BatchNormParams,
  type Pads4,
  type Padding,
  type Size2,
} from './layers.js';
import { DataType } from './proto.js';
import { asFloat32, requireWeight, type WeightMap } from './tfjs.js';

interface KerasLayer {
  readonly name: string;
  readonly class_name: string;
  readonly config: Record<string, unknown>;
  /** [[[layerName, nodeIndex, tensorIndex, kwargs], ...]] in the Keras 2 format. */
  readonly inbound_nodes: ReadonlyArray<ReadonlyArray<readonly [string, number, number, unknown?]>>;
}

interface KerasTopology {
  readonly model_config?: { readonly class_name: string; readonly config: unknown };
  readonly class_name?: string;
  readonly config?: unknown;
}

export interface KerasConvertOptions {
  readonly graphName: string;
  /** ONNX input name (default `input`). */
  readonly inputName?: string;
  /** ONNX output name (default `output`). */
  readonly outputName?: string;
  /** `uint8`: the graph takes raw pixels and casts; `float32`: already-prepared values. */
  readonly inputType?: 'uint8' | 'float32';
  /** When set, the graph divides the (cast) input by this, e.g. 255 for nsfwjs's `x / 255`. */
  readonly inputDivisor?: number;
  /** Batch dimension: a symbolic name (default `batch`) or a fixed size. */
  readonly batch?: string | number;
  readonly producer?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface KerasConversion {
  readonly bytes: Uint8Array;
  readonly inputName: string;
  readonly inputShape: readonly (number | string)[];
  readonly inputType: ElemType;
  readonly outputName: string;
  readonly outputShape: readonly (number | string)[];
  readonly nodeCount: number;
  /** Layers folded away (batch norms into convs, zero paddings into pads, dropouts). */
  readonly folded: readonly string[];
}

/** A tensor during conversion: NCHW with known spatial size, or flat [batch, features]. */
type Value =
  | { kind: 'image'; name: string; size: Size2 | undefined; channels: number; pad?: Pads4; padSource?: string }
  | { kind: 'flat'; name: string; features: number };

export function convertKerasModel(topology: unknown, weights: WeightMap, options: KerasConvertOptions): KerasConversion {
  const layers = readLayers(topology);
  const byName = new Map(layers.map((l) => [l.name, l]));
  const consumers = new Map<string, string[]>();
  for (const layer of layers) {
    for (const src of inboundNames(layer)) consumers.set(src, [...(consumers.get(src) ?? []), layer.name]);
  }
  const g = new GraphBuilder(options.graphName);
  const values = new Map<string, Value>();
  const folded: string[] = [];
  const batch = options.batch ?? 'batch';
  let inputShape: (number | string)[] = [];
  const inputType: ElemType = options.inputType ?? 'float32';
  const inputName = options.inputName ?? 'input';

  const single = (layer: KerasLayer): Value => {
    const names = inboundNames(layer);
    if (names.length !== 1) throw layerError(layer, `expected one input, got ${names.length}`);
    const v = values.get(names[0]!);
    if (!v) throw layerError(layer, `input '${names[0]}' has not been converted (layers out of order?)`);
    return v;
  };
  const image = (layer: KerasLayer, v: Value): Extract<Value, { kind: 'image' }> => {
    if (v.kind !== 'image') throw layerError(layer, 'expects a 4-D image input');
    return materialisePad(g, v);
  };
  const onlyConsumer = (name: string): KerasLayer | undefined => {
    const c = consumers.get(name) ?? [];
    return c.length === 1 ? byName.get(c[0]!) : undefined;
  };

  for (const layer of layers) {
    const cfg = layer.config;
    if (values.has(layer.name)) continue; // a batch norm folded into its conv
    switch (layer.class_name) {
      case 'InputLayer': {
        const shape = cfg.batch_input_shape as Array<number | null>;
        if (!Array.isArray(shape) || shape.length !== 4) throw layerError(layer, 'only NHWC image inputs are supported');
        const [, h, w, c] = shape;
        if (typeof c !== 'number') throw layerError(layer, 'the channel count must be fixed');
        inputShape = [batch, h ?? 'height', w ?? 'width', c];
        let x = g.addInput(inputName, inputType, inputShape);
        if (inputType !== 'float32') x = g.op('Cast', [x], { to: DataType.FLOAT }, 'cast_float');
        if (options.inputDivisor !== undefined)
          x = g.op('Div', [x, g.constant(tensorF32([options.inputDivisor], []), 'input_divisor')], {}, 'normalise');
        const size: Size2 | undefined = typeof h === 'number' && typeof w === 'number' ? [h, w] : undefined;
        values.set(layer.name, { kind: 'image', name: nhwcToNchw(g, x), size, channels: c });
        break;
      }
      case 'ZeroPadding2D': {
        const v = image(layer, single(layer));
        const pad = zeroPadding(layer);
        // Left pending: the next conv absorbs it into its own pads, or `image()` emits a Pad.
        values.set(layer.name, { ...v, pad, padSource: layer.name });
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const input = single(layer);
        if (input.kind !== 'image') throw layerError(layer, 'expects a 4-D image input');
        const depthwise = layer.class_name === 'DepthwiseConv2D';
        const kernel = requireWeight(weights, `${layer.name}/${depthwise ? 'depthwise_kernel' : 'kernel'}`);
        const bias = cfg.use_bias ? asFloat32(requireWeight(weights, `${layer.name}/bias`)) : undefined;
        if (cfg.data_format !== undefined && cfg.data_format !== 'channels_last')
          throw layerError(layer, `data_format ${JSON.stringify(cfg.data_format)}`);
        let padding: Padding =
          cfg.padding === 'same' ? 'same' : cfg.padding === 'valid' ? 'valid' : unsupported(layer, `padding ${String(cfg.padding)}`);
        let x: typeof input;
        if (input.pad && padding === 'valid') {
          // The conv's own pads do the zero padding; the output size accounts for them.
          padding = input.pad;
          folded.push(input.padSource!);
          x = { kind: 'image', name: input.name, size: input.size, channels: input.channels };
        } else {
          x = materialisePad(g, input);
        }
        let bn: BatchNormParams | undefined;
        const act =
          cfg.activation === undefined ? 'linear' : typeof cfg.activation === 'string' ? cfg.activation : JSON.stringify(cfg.activation);
        const next = onlyConsumer(layer.name);
        if (act === 'linear' && next?.class_name === 'BatchNormalization') {
          bn = batchNormParams(next, weights);
          folded.push(next.name);
        }
        const conv = conv2d(g, x.name, {
          name: layer.name,
          kernel: asFloat32(kernel),
          kernelShape: kernel.shape,
          bias,
          depthwise,
          strides: pair(cfg.strides, [1, 1]),
          dilations: pair(cfg.dilation_rate, [1, 1]),
          padding,
          inputSize: x.size,
          batchNorm: bn,
        });
        const out: Value = {
          kind: 'image',
          name: activation(g, conv.output, act, `${layer.name}/${act}`),
          size: conv.size,
          channels: conv.channels,
        };
        values.set(layer.name, out);
        if (bn && next) values.set(next.name, out);
        break;
      }
      case 'BatchNormalization': {
        const v = image(layer, single(layer));
        values.set(layer.name, { ...v, name: batchNorm(g, v.name, layer.name, batchNormParams(layer, weights)) });
        break;
      }
      case 'ReLU': {
        const v = materialised(g, single(layer));
        const max = cfg.max_value as number | null | undefined;
        if ((cfg.negative_slope as number | undefined) || (cfg.threshold as number | undefined))
          throw layerError(layer, 'negative_slope/threshold are not supported');
        const name = max === null || max === undefined ? g.op('Relu', [v.name], {}, layer.name) : clip(g, v.name, 0, max, layer.name);
        values.set(layer.name, { ...v, name });
        break;
      }
      case 'Activation': {
        const v = materialised(g, single(layer));
        values.set(layer.name, { ...v, name: activation(g, v.name, String(cfg.activation), layer.name) });
        break;
      }
      case 'Add':
      case 'Multiply': {
        const inputs = inboundNames(layer).map((n) => materialised(g, values.get(n) ?? unsupported(layer, `input '${n}' not converted`)));
        if (inputs.length < 2) throw layerError(layer, 'needs at least two inputs');
        const op = layer.class_name === 'Add' ? 'Add' : 'Mul';
        let acc = inputs[0]!.name;
        for (let i = 1; i < inputs.length; i++)
          acc = g.op(op, [acc, inputs[i]!.name], {}, i === inputs.length - 1 ? layer.name : `${layer.name}/${i}`);
        values.set(layer.name, { ...inputs[0]!, name: acc });
        break;
      }
      case 'Concatenate': {
        const inputs = inboundNames(layer).map((n) => materialised(g, values.get(n) ?? unsupported(layer, `input '${n}' not converted`)));
        const axis = cfg.axis as number;
        const first = inputs[0]!;
        if (first.kind === 'image') {
          if (axis !== -1 && axis !== 3) throw layerError(layer, `concatenation on axis ${axis}`);
          const channels = inputs.reduce((n, v) => n + (v.kind === 'image' ? v.channels : 0), 0);
          values.set(layer.name, {
            ...first,
            name: g.op(
              'Concat',
              inputs.map((v) => v.name),
              { axis: 1 },
              layer.name,
            ),
            channels,
          });
        } else {
          const features = inputs.reduce((n, v) => n + (v.kind === 'flat' ? v.features : 0), 0);
          values.set(layer.name, {
            kind: 'flat',
            name: g.op(
              'Concat',
              inputs.map((v) => v.name),
              { axis: 1 },
              layer.name,
            ),
            features,
          });
        }
        break;
      }
      case 'AveragePooling2D':
      case 'MaxPooling2D': {
        const v = image(layer, single(layer));
        const poolSize = pair(cfg.pool_size, [2, 2]);
        const p = pool2d(g, v.name, {
          name: layer.name,
          kind: layer.class_name === 'AveragePooling2D' ? 'avg' : 'max',
          poolSize,
          strides: pair(cfg.strides, poolSize),
          padding: cfg.padding === 'same' ? 'same' : 'valid',
          inputSize: v.size,
        });
        values.set(layer.name, { ...v, name: p.output, size: p.size });
        break;
      }
      case 'GlobalAveragePooling2D': {
        const v = image(layer, single(layer));
        const pooled = g.op('GlobalAveragePool', [v.name], {}, layer.name);
        values.set(layer.name, {
          kind: 'flat',
          name: g.op('Flatten', [pooled], { axis: 1 }, `${layer.name}/flatten`),
          features: v.channels,
        });
        break;
      }
      case 'Flatten': {
        const v = single(layer);
        if (v.kind === 'flat') {
          values.set(layer.name, v);
          break;
        }
        const img = materialisePad(g, v);
        if (!img.size) throw layerError(layer, 'Flatten needs a known spatial size');
        // Keras flattens NHWC (channels fastest); with a 1x1 map NCHW order is the same.
        const src = img.size[0] === 1 && img.size[1] === 1 ? img.name : nchwToNhwc(g, img.name, `${layer.name}/to_nhwc`);
        values.set(layer.name, {
          kind: 'flat',
          name: g.op('Flatten', [src], { axis: 1 }, layer.name),
          features: img.size[0] * img.size[1] * img.channels,
        });
        break;
      }
      case 'Dense': {
        const v = single(layer);
        if (v.kind !== 'flat') throw layerError(layer, 'Dense on a non-flat input is not supported');
        const kernel = requireWeight(weights, `${layer.name}/kernel`, [v.features, cfg.units as number]);
        const bias = cfg.use_bias ? asFloat32(requireWeight(weights, `${layer.name}/bias`)) : undefined;
        const y = dense(g, v.name, layer.name, asFloat32(kernel), kernel.shape, bias);
        const act =
          cfg.activation === undefined ? 'linear' : typeof cfg.activation === 'string' ? cfg.activation : JSON.stringify(cfg.activation);
        values.set(layer.name, { kind: 'flat', name: activation(g, y, act, `${layer.name}/${act}`), features: cfg.units as number });
        break;
      }
      case 'Dropout': {
        values.set(layer.name, single(layer));
        folded.push(layer.name);
        break;
      }
      default:
        throw layerError(layer, 'layer type not supported by the converter');
    }
  }

  const outputLayer = readOutputLayer(topology, layers);
  const out = values.get(outputLayer);
  if (!out) throw new Error(`output layer '${outputLayer}' was not converted`);
  const outputName = options.outputName ?? 'output';
  let outputShape: (number | string)[];
  let outValue = out.name;
  if (out.kind === 'flat') outputShape = [batch, out.features];
  else {
    const img = materialisePad(g, out);
    outValue = nchwToNhwc(g, img.name, 'output/to_nhwc');
    outputShape = [batch, img.size?.[0] ?? 'height', img.size?.[1] ?? 'width', img.channels];
  }
  g.addOutput(outValue, 'float32', outputShape, outputName);
  const bytes = g.toBytes({ producer: options.producer ?? 'streamscreen', metadata: options.metadata });
  return { bytes, inputName, inputShape, inputType, outputName, outputShape, nodeCount: g.nodeCount, folded };
}

function readLayers(topology: unknown): KerasLayer[] {
  const t = topology as KerasTopology;
  const model = t.model_config ?? (t.class_name ? { class_name: t.class_name, config: t.config } : undefined);
  if (!model) throw new Error('not a Keras model topology (no model_config)');
  const cfg = model.config as { layers?: KerasLayer[] } | KerasLayer[];
  const layers = Array.isArray(cfg) ? cfg : cfg.layers;
  if (!Array.isArray(layers) || layers.length === 0) throw new Error('Keras topology has no layers');
  if (model.class_name === 'Sequential') {
    // Sequential models list layers without inbound nodes: chain them.
    return layers.map((l, i) => ({
      ...l,
      name: l.name ?? (l.config.name as string),
      inbound_nodes: i === 0 ? [] : [[[layers[i - 1]!.name ?? (layers[i - 1]!.config.name as string), 0, 0]]],
    }));
  }
  if (model.class_name !== 'Model' && model.class_name !== 'Functional')
    throw new Error(`unsupported Keras model class ${model.class_name}`);
  return layers;
}

function readOutputLayer(topology: unknown, layers: readonly KerasLayer[]): string {
  const t = topology as KerasTopology;
  const cfg = (t.model_config?.config ?? t.config) as { output_layers?: Array<[string, number, number]> } | undefined;
  const outs = cfg && !Array.isArray(cfg) ? cfg.output_layers : undefined;
  if (outs && outs.length !== 1) throw new Error(`only single-output models are supported (got ${outs.length})`);
  return outs?.[0]?.[0] ?? layers[layers.length - 1]!.name;
}

function inboundNames(layer: KerasLayer): string[] {
  if (layer.inbound_nodes.length > 1) throw layerError(layer, 'shared layers (called more than once) are not supported');
  return (layer.inbound_nodes[0] ?? []).map((n) => n[0]);
}

function batchNormParams(layer: KerasLayer, weights: WeightMap): BatchNormParams {
  const cfg = layer.config;
  const axis = cfg.axis as number | number[];
  const ax = Array.isArray(axis) ? axis : [axis];
  if (ax.length !== 1 || (ax[0] !== -1 && ax[0] !== 3)) throw layerError(layer, `batch norm over axis ${JSON.stringify(axis)}`);
  const get = (k: string): Float32Array => asFloat32(requireWeight(weights, `${layer.name}/${k}`));
  return {
    gamma: cfg.scale === false ? undefined : get('gamma'),
    beta: cfg.center === false ? undefined : get('beta'),
    mean: get('moving_mean'),
    variance: get('moving_variance'),
    epsilon: (cfg.epsilon as number | undefined) ?? 1e-3,
  };
}

function zeroPadding(layer: KerasLayer): Pads4 {
  const p = layer.config.padding as number | [number, number] | [[number, number], [number, number]];
  if (typeof p === 'number') return [p, p, p, p];
  if (Array.isArray(p) && typeof p[0] === 'number') {
    const [h, w] = p as [number, number];
    return [h, w, h, w];
  }
  const [[top, bottom], [left, right]] = p as [[number, number], [number, number]];
  return [top, left, bottom, right];
}

/** Emits a Pad for a ZeroPadding2D that no conv absorbed. */
function materialisePad(g: GraphBuilder, v: Extract<Value, { kind: 'image' }>): Extract<Value, { kind: 'image' }> {
  if (!v.pad) return v;
  const [t, l, b, r] = v.pad;
  const pads = g.constant(
    { type: 'int64', dims: [8], data: BigInt64Array.from([0, 0, t, l, 0, 0, b, r].map(BigInt)) },
    `${v.padSource}/pads`,
  );
  const name = g.op('Pad', [v.name, pads], {}, v.padSource);
  const size: Size2 | undefined = v.size ? [v.size[0] + t + b, v.size[1] + l + r] : undefined;
  return { kind: 'image', name, size, channels: v.channels };
}

function materialised(g: GraphBuilder, v: Value): Value {
  return v.kind === 'image' ? materialisePad(g, v) : v;
}

function pair(value: unknown, fallback: Size2): Size2 {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'number') return [value, value];
  const [a, b] = value as [number, number];
  return [a, b];
}

function layerError(layer: KerasLayer, message: string): Error {
  return new Error(`layer '${layer.name}' (${layer.class_name}): ${message}`);
}

function unsupported(layer: KerasLayer, message: string): never {
  throw layerError(layer, message);
}
