import type { RgbImage } from '../../domain/frame.js';
import { ModelError } from '../../domain/errors.js';
import { createImageModel, type ImageModelOptions } from './image-model.js';
import type { LoadedManifest, ManifestEntry, SignalMapping } from './manifest.js';
import type { ScaledFrame } from './resize.js';

/**
 * A platform's own ONNX classifier, dropped into models/ with a manifest entry of kind `custom`
 * whose `signals` name the outputs that matter (e.g. `{ "vendor_csam": { "index": 1,
 * "activation": "softmax" } }`). No code change: the values appear in FrameSignals.custom and
 * policy.customEscalateAt decides what escalates.
 */
export interface CustomModel {
  readonly id: string;
  readonly signalNames: readonly string[];
  /** A ScaledFrame shares its scalings with the other models given the same frame. */
  signals(image: RgbImage | ScaledFrame): Promise<Record<string, number>>;
  warmUp(): Promise<void>;
  close(): Promise<void>;
}

export async function createCustomModel(manifest: LoadedManifest, entry: ManifestEntry, options: ImageModelOptions): Promise<CustomModel> {
  const mapping = Object.entries(entry.signals ?? {});
  if (mapping.length === 0)
    throw new ModelError('model_invalid', `model '${entry.id}': a custom model needs at least one entry in signals`);
  const model = await createImageModel(manifest, entry, options);
  for (const [name, m] of mapping) {
    const output = m.output ?? model.outputNames[0]!;
    if (!model.outputNames.includes(output)) {
      await model.close();
      throw new ModelError(
        'model_invalid',
        `model '${entry.id}': signal '${name}' reads output '${output}', which the model does not have (${model.outputNames.join(', ')})`,
      );
    }
  }
  return {
    id: entry.id,
    signalNames: mapping.map(([name]) => name),
    async signals(image) {
      const outputs = await model.run(image);
      const result: Record<string, number> = {};
      for (const [name, m] of mapping) {
        const values = outputs.get(m.output ?? model.outputNames[0]!)!;
        result[name] = mapSignal(entry.id, name, values, m);
      }
      return result;
    },
    warmUp: () => model.warmUp(),
    close: () => model.close(),
  };
}

/** One signal from an output vector (batch dimension already removed). */
export function mapSignal(modelId: string, name: string, values: Float32Array, m: SignalMapping): number {
  if (m.index >= values.length) {
    throw new ModelError(
      'inference_failed',
      `model '${modelId}': signal '${name}' reads index ${m.index} of an output with ${values.length} values`,
    );
  }
  const raw = values[m.index]!;
  switch (m.activation) {
    case 'sigmoid':
      return 1 / (1 + Math.exp(-raw));
    case 'softmax': {
      let max = -Infinity;
      for (const v of values) max = Math.max(max, v);
      let sum = 0;
      for (const v of values) sum += Math.exp(v - max);
      return Math.exp(raw - max) / sum;
    }
    default:
      return raw;
  }
}
