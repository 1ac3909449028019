/**
 * `models/manifest.json`: what each ONNX model is, where it came from, and how to feed it.
 *
 * `tools/model-builder/build-models.ts` writes the entries of the models it converts (those carry a
 * `converter`); entries without `converter` are a platform's own models (e.g. a commercial
 * classifier dropped into models/) and are kept as they are on every rebuild. A drop-in model
 * needs no code: its `signals` map names to output values, and the runtime reports them in
 * `FrameSignals.custom`.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ModelError } from '../../domain/errors.js';

export const MANIFEST_VERSION = 1;

const Normalisation = z.strictObject({
  /** Pixel values are divided by this, then `(v - mean[c]) / std[c]` per RGB channel. */
  divisor: z.number().positive().default(1),
  mean: z.tuple([z.number(), z.number(), z.number()]).default([0, 0, 0]),
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).default([1, 1, 1]),
  /**
   * True when the graph does this itself (it then takes uint8 pixels): recorded for people,
   * the runtime feeds raw pixels. False: the runtime normalises into a float32 tensor.
   */
  inGraph: z.boolean().default(false),
  /** Human-readable form, e.g. "x / 255". */
  description: z.string().optional(),
});

const Input = z.strictObject({
  name: z.string().min(1),
  type: z.enum(['uint8', 'float32']),
  layout: z.enum(['NHWC', 'NCHW']),
  /** [height, width] the model expects; frames are scaled to it (an image already this size is fed unchanged). */
  size: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  channels: z.literal(3).default(3),
  /** How the batch dimension behaves: `dynamic` accepts any batch, a number pins it. */
  batch: z.union([z.literal('dynamic'), z.number().int().positive()]).default('dynamic'),
  normalisation: Normalisation.prefault({}),
});

const SignalMapping = z.strictObject({
  /** Output name; default the model's first output. */
  output: z.string().optional(),
  /** Index into the output's last dimension (per batch item). */
  index: z.number().int().nonnegative().default(0),
  /** Applied to the raw value(s): `softmax` runs over the whole last dimension first. */
  activation: z.enum(['none', 'sigmoid', 'softmax']).default('none'),
});
export type SignalMapping = z.infer<typeof SignalMapping>;

export const ManifestEntrySchema = z.looseObject({
  /** Stable id, also the metric label; e.g. `nsfw-mobilenet-v2`. */
  id: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/),
  /**
   * What the runtime does with it: `nudity` (class probabilities → FrameSignals.nudity),
   * `custom` (signals → FrameSignals.custom); face-detector / age-gender belong to the face part.
   */
  kind: z.string().min(1),
  /** File name relative to the manifest's directory. */
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  license: z.string().min(1),
  source: z.looseObject({
    package: z.string().min(1),
    version: z.string().min(1),
    /** sha256 over the source files the conversion read: the rebuild cache key. */
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    files: z.array(z.string()).optional(),
  }),
  /** Present on converted models: which converter (and version) produced the file. */
  converter: z.strictObject({ name: z.string(), version: z.string() }).optional(),
  input: Input.optional(),
  /** Output names in order; `labels` names the classes of the first output's last dimension. */
  outputs: z.array(z.string()).optional(),
  labels: z.array(z.string()).optional(),
  signals: z.record(z.string().regex(/^[a-z0-9_]+$/), SignalMapping).optional(),
  accuracy: z
    .looseObject({
      /** The publisher's figure, as a fraction (0.9) or in the unit `metric` says. */
      value: z.number(),
      metric: z.string(),
      source: z.string(),
    })
    .optional(),
});
export type ManifestEntry = z.infer<typeof ManifestEntrySchema>;
export type ModelInputSpec = z.infer<typeof Input>;

export const ManifestSchema = z.strictObject({
  version: z.literal(MANIFEST_VERSION),
  models: z.array(ManifestEntrySchema),
});
export type Manifest = z.infer<typeof ManifestSchema>;

export interface LoadedManifest extends Manifest {
  /** Absolute path of the manifest file. */
  readonly path: string;
  /** Absolute path of a model file named in it. */
  resolveFile(entry: ManifestEntry): string;
}

export function parseManifest(json: unknown, path: string): LoadedManifest {
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ModelError('model_invalid', `${path}: invalid model manifest:\n  - ${issues.join('\n  - ')}`);
  }
  const ids = new Set<string>();
  for (const m of parsed.data.models) {
    if (ids.has(m.id)) throw new ModelError('model_invalid', `${path}: model id '${m.id}' appears twice`);
    ids.add(m.id);
  }
  const dir = dirname(resolve(path));
  return {
    ...parsed.data,
    path: resolve(path),
    resolveFile: (entry) => (isAbsolute(entry.file) ? entry.file : resolve(dir, entry.file)),
  };
}

export async function loadManifest(path: string): Promise<LoadedManifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ModelError(
      'model_invalid',
      missing ? `${path}: model manifest not found (run \`npm run models\` to build the models)` : `${path}: cannot read model manifest`,
      { cause: err },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ModelError('model_invalid', `${path}: model manifest is not valid JSON`, { cause: err });
  }
  return parseManifest(json, path);
}
