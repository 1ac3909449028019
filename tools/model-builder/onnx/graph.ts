/**
 * A small ONNX graph builder: add inputs, initializers and nodes in topological order, then
 * serialise to `.onnx` bytes. It checks as it goes (every name used is already defined, no
 * name is produced twice) so a converter bug fails at build time with the node's name rather
 * than as an opaque onnxruntime load error.
 *
 * Usage:
 *   const g = new GraphBuilder('my_net');
 *   const x = g.addInput('input', 'float32', ['batch', 3, 224, 224]);
 *   const w = g.addInitializer('conv0/w', tensorF32(weights, [32, 3, 3, 3]));
 *   const y = g.op('Conv', [x, w], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
 *   g.addOutput(g.op('Relu', [y]), 'float32', ['batch', 32, 224, 224], 'features');
 *   fs.writeFileSync('net.onnx', g.toBytes({ producer: 'streamscreen' }));
 *
 * Attribute values: plain integers become INT, other numbers FLOAT, arrays INTS/FLOATS (FLOATS
 * when any element is not an integer), strings STRING. Use `attr.float(1)` / `attr.floats([1, 2])`
 * when a float attribute happens to hold whole numbers (e.g. `alpha: attr.float(1)`).
 */
import { endianness } from 'node:os';
import {
  AttributeType,
  DataType,
  encodeModel,
  type AttributeProtoObject,
  type DataTypeCode,
  type ModelProtoObject,
  type NodeProtoObject,
  type TensorProtoObject,
  type ValueInfoProtoObject,
} from './proto.js';

export type ElemType = 'float32' | 'int32' | 'int64' | 'uint8' | 'int8' | 'bool';
export type Dim = number | string;

const ELEM_CODES: Record<ElemType, DataTypeCode> = {
  float32: DataType.FLOAT,
  int32: DataType.INT32,
  int64: DataType.INT64,
  uint8: DataType.UINT8,
  int8: DataType.INT8,
  bool: DataType.BOOL,
};

/** A constant tensor: typed data in row-major order plus its dims. */
export interface TensorData {
  readonly type: ElemType;
  readonly dims: readonly number[];
  readonly data: Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;
}

export function tensorF32(data: Float32Array | readonly number[], dims: readonly number[]): TensorData {
  return checked({ type: 'float32', dims, data: data instanceof Float32Array ? data : Float32Array.from(data) });
}

export function tensorI64(data: readonly number[] | BigInt64Array, dims: readonly number[] = [data.length]): TensorData {
  const values = data instanceof BigInt64Array ? data : BigInt64Array.from(data, (v) => BigInt(v));
  return checked({ type: 'int64', dims, data: values });
}

export function tensorI32(data: Int32Array | readonly number[], dims: readonly number[]): TensorData {
  return checked({ type: 'int32', dims, data: data instanceof Int32Array ? data : Int32Array.from(data) });
}

function checked(t: TensorData): TensorData {
  const size = t.dims.reduce((a, b) => a * b, 1);
  if (size !== t.data.length) {
    throw new Error(`tensor data has ${t.data.length} elements but dims [${t.dims.join(', ')}] need ${size}`);
  }
  return t;
}

/** Explicitly typed attribute values, for when inference from a JS number would be wrong. */
export interface TypedAttr {
  readonly kind: 'float' | 'floats' | 'int' | 'ints' | 'string' | 'tensor';
  readonly value: number | readonly number[] | string | TensorData;
}
export const attr = {
  float: (value: number): TypedAttr => ({ kind: 'float', value }),
  floats: (value: readonly number[]): TypedAttr => ({ kind: 'floats', value }),
  int: (value: number): TypedAttr => ({ kind: 'int', value }),
  ints: (value: readonly number[]): TypedAttr => ({ kind: 'ints', value }),
  string: (value: string): TypedAttr => ({ kind: 'string', value }),
  tensor: (value: TensorData): TypedAttr => ({ kind: 'tensor', value }),
};
export type AttrValue = number | string | readonly number[] | TypedAttr;
export type Attrs = Readonly<Record<string, AttrValue | undefined>>;

export interface ModelMetadata {
  producer?: string;
  producerVersion?: string;
  docString?: string;
  /** Free-form key/value pairs stored in ModelProto.metadata_props (e.g. labels, source sha256). */
  metadata?: Readonly<Record<string, string>>;
}

export interface NodeOptions {
  /** Output names, or how many auto-named outputs to create (default 1). */
  outputs?: readonly string[] | number;
  /** Node name; defaults to a unique name derived from the op type. */
  name?: string;
  /** Operator domain; '' (default) is the standard ai.onnx domain. */
  domain?: string;
}

/** The ONNX IR version we write: IR 8 (ONNX 1.10+), understood by every current onnxruntime. */
export const IR_VERSION = 8;
/** Default opset: 13 (Clip takes min/max as inputs, Softmax works on one axis). */
export const DEFAULT_OPSET = 13;

export class GraphBuilder {
  readonly opset: number;
  private readonly nodes: NodeProtoObject[] = [];
  private readonly initializers: TensorProtoObject[] = [];
  private readonly inputs: ValueInfoProtoObject[] = [];
  private readonly outputs: ValueInfoProtoObject[] = [];
  private readonly defined = new Set<string>();
  /** Value names defined or reserved by `uniqueName`. */
  private readonly used = new Set<string>();
  /** Node names live in their own namespace (ONNX keeps them apart from value names). */
  private readonly nodeNames = new Set<string>();
  private counter = 0;

  constructor(
    readonly name: string,
    options: { opset?: number } = {},
  ) {
    this.opset = options.opset ?? DEFAULT_OPSET;
  }

  /** A value name not used yet in this graph, built from `hint` (sanitised), and reserves it. */
  uniqueName(hint: string): string {
    return this.reserve(this.used, hint);
  }

  private reserve(names: Set<string>, hint: string): string {
    const base = hint.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'v';
    let candidate = base;
    while (names.has(candidate)) candidate = `${base}__${++this.counter}`;
    names.add(candidate);
    return candidate;
  }

  /** True when `name` is already a graph input, initializer or node output. */
  has(name: string): boolean {
    return this.defined.has(name);
  }

  addInput(name: string, type: ElemType, shape: readonly Dim[]): string {
    this.define(name, `graph input`);
    this.inputs.push(valueInfo(name, type, shape));
    return name;
  }

  /**
   * Marks `value` as a graph output. With `as` the output gets that name through an Identity
   * node (handy when the producing node has an internal name).
   */
  addOutput(value: string, type: ElemType, shape: readonly Dim[], as?: string): string {
    let name = value;
    if (as !== undefined && as !== value) {
      name = this.node('Identity', [value], {}, { outputs: [as], name: `${as}/identity` })[0]!;
    }
    this.requireDefined(name, 'graph output');
    this.outputs.push(valueInfo(name, type, shape));
    return name;
  }

  /** Adds a named constant tensor; returns its name. */
  addInitializer(name: string, tensor: TensorData): string {
    this.define(name, 'initializer');
    this.initializers.push(tensorProto(name, tensor));
    return name;
  }

  /** Adds an auto-named constant tensor; returns its name. */
  constant(tensor: TensorData, hint = 'const'): string {
    return this.addInitializer(this.uniqueName(hint), tensor);
  }

  /**
   * Adds a node; returns its output names. Inputs may be '' for an omitted optional input.
   * `options.name` is made unique if taken; a single auto-named output is named like the node.
   */
  node(opType: string, inputs: readonly string[], attrs: Attrs = {}, options: NodeOptions = {}): string[] {
    const nodeName = this.reserve(this.nodeNames, options.name ?? opType);
    for (const input of inputs) {
      if (input !== '') this.requireDefined(input, `input of ${opType} node '${nodeName}'`);
    }
    const outputSpec = options.outputs ?? 1;
    const outputs =
      typeof outputSpec === 'number'
        ? Array.from({ length: outputSpec }, (_, i) => this.uniqueName(outputSpec === 1 ? nodeName : `${nodeName}:${i}`))
        : outputSpec.map((o) => (this.used.has(o) && !this.defined.has(o) ? o : this.claim(o, 'node output')));
    for (const output of outputs) this.define(output, `output of ${opType} node '${nodeName}'`);
    const attribute: AttributeProtoObject[] = [];
    for (const [key, value] of Object.entries(attrs)) {
      if (value !== undefined) attribute.push(attributeProto(key, value));
    }
    this.nodes.push({
      name: nodeName,
      op_type: opType,
      ...(options.domain ? { domain: options.domain } : {}),
      input: [...inputs],
      output: outputs,
      attribute,
    });
    return outputs;
  }

  /** Single-output shorthand for `node`; `name` names the node and (if free) its output. */
  op(opType: string, inputs: readonly string[], attrs: Attrs = {}, name?: string): string {
    return this.node(opType, inputs, attrs, name === undefined ? {} : { name })[0]!;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** The ModelProto as a plain object (for inspection or further editing). */
  build(meta: ModelMetadata = {}): ModelProtoObject {
    if (this.outputs.length === 0) throw new Error(`graph '${this.name}' has no outputs`);
    return {
      ir_version: IR_VERSION,
      opset_import: [{ domain: '', version: this.opset }],
      producer_name: meta.producer ?? 'streamscreen',
      producer_version: meta.producerVersion ?? '1',
      ...(meta.docString ? { doc_string: meta.docString } : {}),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
      metadata_props: Object.entries(meta.metadata ?? {}).map(([key, value]) => ({ key, value })),
    };
  }

  /** Serialised `.onnx` bytes. */
  toBytes(meta: ModelMetadata = {}): Uint8Array {
    return encodeModel(this.build(meta));
  }

  private claim(name: string, what: string): string {
    if (this.used.has(name)) throw new Error(`${what} '${name}' is already used in graph '${this.name}'`);
    this.used.add(name);
    return name;
  }

  private define(name: string, what: string): void {
    if (name === '') throw new Error(`${what} needs a non-empty name`);
    if (this.defined.has(name)) throw new Error(`${what} '${name}' is already defined in graph '${this.name}'`);
    this.used.add(name);
    this.defined.add(name);
  }

  private requireDefined(name: string, what: string): void {
    if (!this.defined.has(name)) throw new Error(`${what}: '${name}' is not defined yet in graph '${this.name}'`);
  }
}

function valueInfo(name: string, type: ElemType, shape: readonly Dim[]): ValueInfoProtoObject {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: ELEM_CODES[type],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

function tensorProto(name: string, tensor: TensorData): TensorProtoObject {
  // raw_data is little-endian by definition; typed arrays use the host order.
  if (endianness() !== 'LE') throw new Error('ONNX raw_data writing assumes a little-endian host');
  const { data } = tensor;
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return { name, dims: [...tensor.dims], data_type: ELEM_CODES[tensor.type], raw_data: raw };
}

const encoder = new TextEncoder();

function attributeProto(name: string, value: AttrValue): AttributeProtoObject {
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: encoder.encode(value) };
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { name, type: AttributeType.INT, i: value } : { name, type: AttributeType.FLOAT, f: value };
  }
  if (isTypedAttr(value)) {
    switch (value.kind) {
      case 'float':
        return { name, type: AttributeType.FLOAT, f: value.value as number };
      case 'floats':
        return { name, type: AttributeType.FLOATS, floats: [...(value.value as number[])] };
      case 'int':
        return { name, type: AttributeType.INT, i: value.value as number };
      case 'ints':
        return { name, type: AttributeType.INTS, ints: [...(value.value as number[])] };
      case 'string':
        return { name, type: AttributeType.STRING, s: encoder.encode(value.value as string) };
      case 'tensor':
        return { name, type: AttributeType.TENSOR, t: tensorProto('', value.value as TensorData) };
    }
  }
  const list = value;
  return list.every(Number.isInteger)
    ? { name, type: AttributeType.INTS, ints: [...list] }
    : { name, type: AttributeType.FLOATS, floats: [...list] };
}

function isTypedAttr(value: AttrValue): value is TypedAttr {
  return typeof value === 'object' && value !== null && 'kind' in value && !Array.isArray(value);
}
