/**
 * Reading TensorFlow.js model artifacts: `model.json` (topology + weightsManifest) and the
 * binary weight shards, with the dequantisation tfjs itself applies at load time.
 *
 * Dequantisation is done here in JS, not with an ONNX DequantizeLinear node: tfjs stores
 * `value = q * scale + min` with a float `min` that is not `-zeroPoint * scale` for an integer
 * zero point, so DequantizeLinear cannot represent it exactly. We compute `q * scale + min` in
 * float64 and round once to float32 — the same arithmetic as tfjs-core's `decodeWeight`, so the
 * converted weights are bit-identical to the ones tfjs runs with.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export type TfjsDtype = 'float32' | 'int32' | 'bool';

export interface WeightQuantization {
  readonly dtype: 'uint8' | 'uint16' | 'float16';
  readonly scale?: number;
  readonly min?: number;
}

export interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: TfjsDtype;
  readonly quantization?: WeightQuantization;
}

export interface WeightsManifestGroup {
  readonly paths: readonly string[];
  readonly weights: readonly WeightSpec[];
}

/** `model.json` as written by the tfjs converter (layers or graph format). */
export interface TfjsModelJson {
  readonly format?: string;
  readonly generatedBy?: string;
  readonly convertedBy?: string | null;
  readonly modelTopology?: unknown;
  readonly weightsManifest: readonly WeightsManifestGroup[];
}

/** A dequantised weight, in tfjs's own layout (e.g. conv kernels HWIO). */
export interface Weight {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int32' | 'bool';
  readonly data: Float32Array | Int32Array | Uint8Array;
}

export type WeightMap = ReadonlyMap<string, Weight>;

/**
 * Decodes every weight of a manifest. `shards` maps each manifest path to its bytes; a group's
 * shards are concatenated in order, as tfjs does, and weights are read back to back from it.
 */
export function decodeWeights(manifest: readonly WeightsManifestGroup[], shards: (path: string) => Uint8Array): Map<string, Weight> {
  const out = new Map<string, Weight>();
  for (const group of manifest) {
    const parts = group.paths.map((p) => shards(p));
    const total = parts.reduce((n, p) => n + p.byteLength, 0);
    const buffer = new Uint8Array(total);
    let at = 0;
    for (const part of parts) {
      buffer.set(part, at);
      at += part.byteLength;
    }
    let offset = 0;
    for (const spec of group.weights) {
      const { weight, byteLength } = decodeWeight(spec, buffer, offset);
      if (out.has(spec.name)) throw new Error(`weight '${spec.name}' appears twice in the manifest`);
      out.set(spec.name, weight);
      offset += byteLength;
    }
    if (offset !== total) {
      throw new Error(`weights of group [${group.paths.join(', ')}] use ${offset} bytes but the shards hold ${total}`);
    }
  }
  return out;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function decodeWeight(spec: WeightSpec, buffer: Uint8Array, offset: number): { weight: Weight; byteLength: number } {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization;
  const storage = q ? q.dtype : spec.dtype;
  const width = BYTES[storage];
  if (width === undefined) throw new Error(`weight '${spec.name}': unsupported storage dtype ${storage}`);
  const byteLength = size * width;
  if (offset + byteLength > buffer.byteLength) {
    throw new Error(`weight '${spec.name}' runs past the end of its shards (${offset + byteLength} > ${buffer.byteLength})`);
  }
  // Copy so the typed views are aligned regardless of the weight's byte offset.
  const bytes = buffer.slice(offset, offset + byteLength);
  const base = { name: spec.name, shape: [...spec.shape] };
  if (!q) {
    if (spec.dtype === 'float32') return { weight: { ...base, dtype: 'float32', data: new Float32Array(bytes.buffer) }, byteLength };
    if (spec.dtype === 'int32') return { weight: { ...base, dtype: 'int32', data: new Int32Array(bytes.buffer) }, byteLength };
    return { weight: { ...base, dtype: 'bool', data: bytes }, byteLength };
  }
  if (q.dtype === 'float16') {
    if (spec.dtype !== 'float32') throw new Error(`weight '${spec.name}': float16 quantisation needs dtype float32`);
    const halves = new Uint16Array(bytes.buffer);
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) values[i] = halfToFloat(halves[i]!);
    return { weight: { ...base, dtype: 'float32', data: values }, byteLength };
  }
  if (q.scale === undefined || q.min === undefined) {
    throw new Error(`weight '${spec.name}': ${q.dtype} quantisation without scale and min`);
  }
  const quantized = q.dtype === 'uint8' ? bytes : new Uint16Array(bytes.buffer);
  const { scale, min } = q;
  if (spec.dtype === 'float32') {
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) values[i] = quantized[i]! * scale + min;
    return { weight: { ...base, dtype: 'float32', data: values }, byteLength };
  }
  if (spec.dtype === 'int32') {
    const values = new Int32Array(size);
    for (let i = 0; i < size; i++) values[i] = Math.round(quantized[i]! * scale + min);
    return { weight: { ...base, dtype: 'int32', data: values }, byteLength };
  }
  throw new Error(`weight '${spec.name}': cannot dequantise to ${spec.dtype}`);
}

/** IEEE 754 binary16 → number (exact; every half is representable as a float32). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** A weight by name, failing with the names on offer when it is missing. */
export function requireWeight(weights: WeightMap, name: string, shape?: readonly number[]): Weight {
  const w = weights.get(name);
  if (!w) {
    const near = [...weights.keys()].filter((k) => k.split('/')[0] === name.split('/')[0]).slice(0, 8);
    throw new Error(`weight '${name}' not found${near.length ? ` (same prefix: ${near.join(', ')})` : ''}`);
  }
  if (shape && (shape.length !== w.shape.length || shape.some((d, i) => d !== w.shape[i]))) {
    throw new Error(`weight '${name}' has shape [${w.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return w;
}

export function asFloat32(w: Weight): Float32Array {
  if (!(w.data instanceof Float32Array)) throw new Error(`weight '${w.name}' is ${w.dtype}, expected float32`);
  return w.data;
}

/** The files of a tfjs model on disk: the json plus every shard it references. */
export interface TfjsModelFiles {
  readonly json: TfjsModelJson;
  readonly weights: Map<string, Weight>;
  /** sha256 over the json and shard bytes, in manifest order: the cache key for conversions. */
  readonly sha256: string;
}

/**
 * Loads a tfjs model from a `model.json` (or a bare `*-weights_manifest.json`, which is a
 * manifest array with no topology, as face-api ships) and the shard files next to it.
 */
export async function loadTfjsModelFiles(jsonPath: string): Promise<TfjsModelFiles> {
  const jsonBytes = await readFile(jsonPath);
  const parsed = JSON.parse(jsonBytes.toString('utf8')) as TfjsModelJson | WeightsManifestGroup[];
  const json: TfjsModelJson = Array.isArray(parsed) ? { weightsManifest: parsed } : parsed;
  const hash = createHash('sha256').update(jsonBytes);
  const shards = new Map<string, Uint8Array>();
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const bytes = await readFile(join(dirname(jsonPath), p));
      hash.update(bytes);
      shards.set(p, bytes);
    }
  }
  const weights = decodeWeights(json.weightsManifest, (p) => shards.get(p)!);
  return { json, weights, sha256: hash.digest('hex') };
}

export function sha256Hex(...parts: Array<Uint8Array | string>): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}
