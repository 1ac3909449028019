/**
 * The ONNX toolkit (tools/model-builder/onnx/) on its own: wire format, graph checks, weight decoding
 * against tfjs's own decoder, and the Keras converter on a small model built here in tfjs with
 * every supported layer type, odd input sizes (asymmetric SAME padding) and random weights,
 * compared with tfjs's output.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  GraphBuilder,
  attr,
  convertKerasModel,
  decodeModel,
  decodeWeights,
  foldBatchNorm,
  halfToFloat,
  samePads,
  tensorF32,
  tensorI64,
  type WeightsManifestGroup,
} from '../onnx/index.js';
import { maxAbsDiff } from '../../../test/worker/classify/support.js';

beforeAll(async () => {
  const warn = console.warn;
  console.warn = () => {};
  await tf.setBackend('cpu');
  tf.tidy(() => tf.scalar(1).add(1));
  console.warn = warn;
});

describe('GraphBuilder and the protobuf writer', () => {
  it('writes a model onnxruntime runs and that decodes back to what was built', async () => {
    const g = new GraphBuilder('tiny');
    const x = g.addInput('x', 'float32', ['n', 4]);
    const w = g.addInitializer('w', tensorF32([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]));
    const y = g.op('Gemm', [x, w], { alpha: attr.float(2), transB: 0 }, 'gemm');
    g.addOutput(g.op('Relu', [y]), 'float32', ['n', 2], 'y');
    const bytes = g.toBytes({ producer: 'test', metadata: { labels: 'a,b' } });

    const model = decodeModel(bytes);
    expect(model.ir_version).toBe(8);
    expect(model.opset_import).toEqual([{ domain: '', version: 13 }]);
    expect(model.metadata_props).toEqual([{ key: 'labels', value: 'a,b' }]);
    const gemm = model.graph.node.find((n) => n.op_type === 'Gemm')!;
    expect(gemm.attribute.map((a) => [a.name, a.type, a.f ?? a.i])).toEqual([
      ['alpha', 1, 2],
      ['transB', 2, 0],
    ]);
    const init = model.graph.initializer[0]!;
    expect(init.dims).toEqual([4, 2]);
    expect(Array.from(new Float32Array(new Uint8Array(init.raw_data).buffer))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);

    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 0, -1, 0.5]), [1, 4]) });
    // 2 * ([1, 0, -1, 0.5] · w) = 2 * [1 - 5 + 3.5, 2 - 6 + 4] = [-1, 0] → relu → [0, 0]
    expect(Array.from(out.y!.data as Float32Array)).toEqual([0, 0]);
    const out2 = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 1, 1, 1]), [1, 4]) });
    expect(Array.from(out2.y!.data as Float32Array)).toEqual([32, 40]);
    await session.release();
  });

  it('encodes every attribute kind', () => {
    const g = new GraphBuilder('attrs');
    const x = g.addInput('x', 'float32', [1]);
    g.addOutput(
      g.op('Identity', [x], {
        i: 3,
        f: 0.5,
        ints: [1, 2],
        floats: [0.5, 1],
        s: 'SAME_UPPER',
        whole: attr.floats([1, 2]),
        t: attr.tensor(tensorI64([7, 8])),
      }),
      'float32',
      [1],
    );
    const a = decodeModel(g.toBytes()).graph.node[0]!.attribute;
    const by = Object.fromEntries(a.map((v) => [v.name, v]));
    expect(by.i).toMatchObject({ type: 2, i: 3 });
    expect(by.f).toMatchObject({ type: 1, f: 0.5 });
    expect(by.ints).toMatchObject({ type: 7, ints: [1, 2] });
    expect(by.floats).toMatchObject({ type: 6, floats: [0.5, 1] });
    expect(new TextDecoder().decode(by.s!.s)).toBe('SAME_UPPER');
    expect(by.whole).toMatchObject({ type: 6, floats: [1, 2] });
    expect(by.t).toMatchObject({ type: 4, t: { dims: [2], data_type: 7 } });
  });

  it('refuses undefined inputs, names defined twice, and graphs without outputs', () => {
    const g = new GraphBuilder('bad');
    const x = g.addInput('x', 'float32', [1]);
    expect(() => g.op('Relu', ['nope'])).toThrow(/'nope' is not defined/);
    expect(() => g.addInitializer('x', tensorF32([1], [1]))).toThrow(/already defined/);
    expect(() => tensorF32([1, 2, 3], [2, 2])).toThrow(/need 4/);
    expect(() => g.build()).toThrow(/no outputs/);
    // node names are made unique; outputs get fresh names
    const a = g.op('Relu', [x], {}, 'r');
    const b = g.op('Relu', [x], {}, 'r');
    expect(a).not.toBe(b);
  });
});

describe('layer helpers', () => {
  it('SAME padding puts the odd pixel at the end, as TensorFlow does', () => {
    expect(samePads([224, 224], [3, 3], [2, 2])).toEqual([0, 0, 1, 1]);
    expect(samePads([7, 8], [3, 3], [1, 1])).toEqual([1, 1, 1, 1]);
    expect(samePads([15, 13], [4, 4], [1, 1])).toEqual([1, 1, 2, 2]);
    expect(samePads([15, 13], [3, 3], [2, 2])).toEqual([1, 1, 1, 1]);
    expect(samePads([10, 10], [3, 3], [1, 1], [2, 2])).toEqual([2, 2, 2, 2]);
  });

  it('folds batch norm per output channel in float64', () => {
    const { weight, bias } = foldBatchNorm(Float32Array.from([1, 2, 3, 4]), 2, Float32Array.from([0.5, -1]), {
      gamma: Float32Array.from([2, 1]),
      beta: Float32Array.from([0.1, 0.2]),
      mean: Float32Array.from([1, 0]),
      variance: Float32Array.from([3, 3]),
      epsilon: 1,
    });
    // s = gamma / sqrt(3 + 1) = [1, 0.5]
    expect(Array.from(weight)).toEqual([1, 2, 1.5, 2]);
    expect(bias[0]).toBeCloseTo((0.5 - 1) * 1 + 0.1, 6);
    expect(bias[1]).toBeCloseTo((-1 - 0) * 0.5 + 0.2, 6);
  });
});

describe('tfjs weight decoding', () => {
  it('dequantises uint8/uint16/float16 bit-identically to tfjs', async () => {
    const specs = [
      { name: 'a', shape: [2, 3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.006666756611244351, min: -0.87334511607301 } },
      { name: 'b', shape: [5], dtype: 'float32', quantization: { dtype: 'uint16', scale: 1.3e-5, min: -0.41 } },
      { name: 'c', shape: [4], dtype: 'float32', quantization: { dtype: 'float16' } },
      { name: 'd', shape: [3], dtype: 'float32' },
      { name: 'e', shape: [2], dtype: 'int32' },
      { name: 'f', shape: [3], dtype: 'int32', quantization: { dtype: 'uint8', scale: 0.5, min: -3 } },
    ] as const;
    const parts = [
      Uint8Array.from([0, 1, 17, 128, 254, 255]),
      new Uint8Array(Uint16Array.from([0, 1, 999, 40000, 65535]).buffer),
      new Uint8Array(Uint16Array.from([0x3c00, 0xc000, 0x0001, 0x7bff]).buffer),
      new Uint8Array(Float32Array.from([0.1, -2, 3e-8]).buffer),
      new Uint8Array(Int32Array.from([-5, 7]).buffer),
      Uint8Array.from([0, 3, 255]),
    ];
    const total = parts.reduce((n, p) => n + p.length, 0);
    const shard = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      shard.set(p, at);
      at += p.length;
    }
    const manifest: WeightsManifestGroup[] = [{ paths: ['s'], weights: specs }];
    const ours = decodeWeights(manifest, () => shard);
    const theirs = tf.io.decodeWeights(shard.buffer, specs as unknown as tf.io.WeightsManifestEntry[]);
    for (const s of specs) {
      expect(Array.from(ours.get(s.name)!.data), s.name).toEqual(Array.from(theirs[s.name]!.dataSync()));
    }
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(() => decodeWeights(manifest, () => shard.subarray(0, 10))).toThrow(/runs past the end/);
  });
});

describe('Keras converter vs tfjs on a small model with every supported layer', () => {
  it('matches tfjs within float32 rounding', async () => {
    // Layer construction allocates weights that the model owns (disposed at the end), so no tidy.
    const model = ((): tf.LayersModel => {
      const input = tf.input({ shape: [15, 13, 3], name: 'img' });
      const pad = tf.layers
        .zeroPadding2d({
          padding: [
            [0, 1],
            [1, 0],
          ],
          name: 'pad',
        })
        .apply(input) as tf.SymbolicTensor;
      let x = tf.layers
        .conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, name: 'c1' })
        .apply(pad) as tf.SymbolicTensor;
      x = tf.layers.batchNormalization({ name: 'bn1', epsilon: 1e-3 }).apply(x) as tf.SymbolicTensor;
      x = tf.layers.reLU({ maxValue: 6, name: 'relu6' }).apply(x) as tf.SymbolicTensor;
      const dw = tf.layers
        .depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', useBias: true, name: 'dw' })
        .apply(x) as tf.SymbolicTensor;
      const pw = tf.layers
        .conv2d({ filters: 16, kernelSize: 1, padding: 'same', activation: 'relu', name: 'pw' })
        .apply(x) as tf.SymbolicTensor;
      let y = tf.layers.add({ name: 'add' }).apply([dw, pw]) as tf.SymbolicTensor;
      y = tf.layers.batchNormalization({ name: 'bn2' }).apply(y) as tf.SymbolicTensor; // after Add: stays a standalone BN
      const cat = tf.layers.concatenate({ name: 'cat' }).apply([y, x]) as tf.SymbolicTensor;
      const c4 = tf.layers
        .conv2d({ filters: 6, kernelSize: 4, strides: 1, padding: 'same', activation: 'sigmoid', name: 'c4' })
        .apply(cat) as tf.SymbolicTensor;
      const avg = tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'avg' }).apply(c4) as tf.SymbolicTensor;
      const max = tf.layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same', name: 'max' }).apply(avg) as tf.SymbolicTensor;
      const flat = tf.layers.flatten({ name: 'flat' }).apply(max) as tf.SymbolicTensor; // 4x4x6: NHWC order matters
      const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(c4) as tf.SymbolicTensor;
      const both = tf.layers.concatenate({ name: 'cat2' }).apply([flat, gap]) as tf.SymbolicTensor;
      let d = tf.layers.dense({ units: 10, activation: 'relu', name: 'd1' }).apply(both) as tf.SymbolicTensor;
      d = tf.layers.dropout({ rate: 0.5, name: 'drop' }).apply(d) as tf.SymbolicTensor;
      const out = tf.layers.dense({ units: 4, activation: 'softmax', name: 'd2' }).apply(d) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: out });
    })();
    // Non-trivial batch-norm statistics (fresh layers have mean 0, variance 1).
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
    for (const layer of model.layers) {
      const ws = layer.getWeights();
      if (ws.length === 0) continue;
      layer.setWeights(
        ws.map((w, i) => {
          const isVariance = layer.name.startsWith('bn') && i === 3;
          return tf.tensor(
            Float32Array.from({ length: w.size }, () => (isVariance ? 0.5 + Math.abs(rnd()) : rnd() * 0.5)),
            w.shape,
          );
        }),
      );
    }
    let artifacts!: tf.io.ModelArtifacts;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const manifest: WeightsManifestGroup[] = [
      { paths: ['w'], weights: artifacts.weightSpecs as unknown as WeightsManifestGroup['weights'] },
    ];
    const weights = decodeWeights(manifest, () => new Uint8Array(artifacts.weightData as ArrayBuffer));
    const conversion = convertKerasModel(artifacts.modelTopology, weights, { graphName: 'small', inputType: 'float32' });
    expect(conversion.folded).toEqual(expect.arrayContaining(['pad', 'bn1', 'drop']));
    expect(conversion.folded).not.toContain('bn2');

    const session = await ort.InferenceSession.create(conversion.bytes);
    const batch = 3;
    const data = Float32Array.from({ length: batch * 15 * 13 * 3 }, () => rnd());
    const ref = tf.tidy(() => (model.predict(tf.tensor4d(data, [batch, 15, 13, 3])) as tf.Tensor).dataSync());
    const out = await session.run({ input: new ort.Tensor('float32', data, [batch, 15, 13, 3]) });
    expect(out.output!.dims).toEqual([batch, 4]);
    expect(maxAbsDiff(out.output!.data as Float32Array, ref)).toBeLessThan(1e-5);
    await session.release();
    model.dispose();
  });

  it('names the layer it cannot convert', () => {
    const topology = {
      class_name: 'Model',
      config: {
        layers: [
          { name: 'in', class_name: 'InputLayer', config: { batch_input_shape: [null, 8, 8, 3] }, inbound_nodes: [] },
          { name: 'lstm', class_name: 'LSTM', config: {}, inbound_nodes: [[['in', 0, 0, {}]]] },
        ],
        output_layers: [['lstm', 0, 0]],
      },
    };
    expect(() => convertKerasModel(topology, new Map(), { graphName: 'x' })).toThrow(/layer 'lstm' \(LSTM\): layer type not supported/);
  });
});
