import type { RgbImage } from '../../domain/frame.js';
import { ModelError } from '../../domain/errors.js';
import { createImageModel, type ImageModel, type ImageModelOptions } from './image-model.js';
import type { LoadedManifest, ManifestEntry } from './manifest.js';
import type { ScaledFrame } from './resize.js';

/** Class probabilities by label (drawing, hentai, neutral, porn, sexy for the default model). */
export type NudityScores = Readonly<Record<string, number>>;

export interface NudityModel {
  readonly id: string;
  readonly labels: readonly string[];
  /** A ScaledFrame shares its scalings with the other models given the same frame. */
  classify(image: RgbImage | ScaledFrame): Promise<NudityScores>;
  /** The raw probability vector, in label order (parity tests and benchmarks). */
  probabilities(image: RgbImage | ScaledFrame): Promise<Float32Array>;
  warmUp(): Promise<void>;
  close(): Promise<void>;
}

/** The manifest's nudity model: softmax probabilities over its labels. */
export async function createNudityModel(manifest: LoadedManifest, entry: ManifestEntry, options: ImageModelOptions): Promise<NudityModel> {
  const labels = entry.labels;
  if (!labels || labels.length === 0) throw new ModelError('model_invalid', `model '${entry.id}': a nudity model needs labels`);
  const model: ImageModel = await createImageModel(manifest, entry, options);
  const output = entry.outputs?.[0] ?? model.outputNames[0]!;
  if (!model.outputNames.includes(output)) {
    await model.close();
    throw new ModelError('model_invalid', `model '${entry.id}': output '${output}' not among ${model.outputNames.join(', ')}`);
  }
  const probabilities = async (image: RgbImage | ScaledFrame): Promise<Float32Array> => {
    const values = (await model.run(image)).get(output)!;
    if (values.length !== labels.length) {
      throw new ModelError('inference_failed', `model '${entry.id}': ${values.length} outputs for ${labels.length} labels`);
    }
    return values;
  };
  return {
    id: entry.id,
    labels,
    probabilities,
    async classify(image) {
      const p = await probabilities(image);
      return Object.fromEntries(labels.map((l, i) => [l, p[i]!]));
    },
    warmUp: () => model.warmUp(),
    close: () => model.close(),
  };
}
