import type * as ort from 'onnxruntime-node';
import type { RgbImage } from '../../domain/frame.js';
import { ModelError } from '../../domain/errors.js';
import { buildInputTensor } from './input-tensor.js';
import { asScaledFrame, type ScaledFrame } from './resize.js';
import { assertFrame } from './rgb-image.js';
import type { LoadedManifest, ManifestEntry, ModelInputSpec } from './manifest.js';
import { createBatchQueue, createInFlight, openModelSession, type BatchQueue, type SessionOptions } from './session.js';

/** Every output of one image's inference, by output name, with the batch dimension removed. */
export type ImageOutputs = ReadonlyMap<string, Float32Array>;

/**
 * One ONNX model that takes an RGB image: its session (created once), a queue that runs one
 * inference at a time and batches across callers, and the manifest entry that says how to feed it.
 */
export interface ImageModel {
  readonly entry: ManifestEntry;
  readonly input: ModelInputSpec;
  readonly outputNames: readonly string[];
  /**
   * One inference. Pass a ScaledFrame when other models take the same frame: a scaling to this
   * model's input size is then shared with any other model of that size.
   */
  run(image: RgbImage | ScaledFrame): Promise<ImageOutputs>;
  /** Runs the model once on a black frame, so the first real frame does not pay for set-up. */
  warmUp(): Promise<void>;
  close(): Promise<void>;
}

export interface ImageModelOptions extends SessionOptions {
  /** Largest batch the queue forms from waiting requests (models with a fixed batch use theirs). */
  readonly maxBatch: number;
}

export async function createImageModel(manifest: LoadedManifest, entry: ManifestEntry, options: ImageModelOptions): Promise<ImageModel> {
  const input = entry.input;
  if (!input) throw new ModelError('model_invalid', `${manifest.path}: model '${entry.id}' has no input description`);
  const session = await openModelSession(manifest, entry, options);
  if (!session.inputNames.includes(input.name)) {
    await session.release();
    throw new ModelError(
      'model_invalid',
      `model '${entry.id}': manifest input '${input.name}' is not among the model's inputs (${session.inputNames.join(', ')})`,
    );
  }
  const outputNames = [...session.outputNames];
  const fixedBatch = input.batch === 'dynamic' ? undefined : input.batch;
  const maxBatch = fixedBatch ?? options.maxBatch;

  const runBatch = async (images: readonly RgbImage[]): Promise<ImageOutputs[]> => {
    const batch = fixedBatch ?? images.length;
    const feeds: Record<string, ort.Tensor> = { [input.name]: buildInputTensor(input, images, batch) };
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = await session.run(feeds);
    } catch (err) {
      throw new ModelError('inference_failed', `model '${entry.id}': ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
        retryable: true,
      });
    }
    const perImage: Array<Map<string, Float32Array>> = images.map(() => new Map<string, Float32Array>());
    for (const name of outputNames) {
      const t = results[name];
      if (!t || !(t.data instanceof Float32Array))
        throw new ModelError('inference_failed', `model '${entry.id}': output '${name}' missing or not float32`);
      if (t.dims[0] !== batch)
        throw new ModelError('inference_failed', `model '${entry.id}': output '${name}' has batch ${t.dims[0]}, expected ${batch}`);
      const per = t.data.length / batch;
      images.forEach((_, i) => perImage[i]!.set(name, t.data.slice(i * per, (i + 1) * per) as Float32Array));
      t.dispose();
    }
    return perImage;
  };

  const queue: BatchQueue<RgbImage, ImageOutputs> = createBatchQueue(runBatch, maxBatch);
  // Counts a run from its first await (the scaling), not from when it reaches the queue: a
  // close() that only drained the queue would release the session under a run still scaling.
  const inFlight = createInFlight();
  let closed = false;
  return {
    entry,
    input,
    outputNames,
    async run(image) {
      if (closed) throw new ModelError('inference_failed', `model '${entry.id}' is closed`);
      const frame = asScaledFrame(image);
      assertFrame(frame.source);
      // Scale before queueing: libvips does it on its own threads while this model is busy.
      const [h, w] = input.size;
      return inFlight.run(async () => queue.push(await frame.at(w, h)));
    },
    async warmUp() {
      if (closed) throw new ModelError('inference_failed', `model '${entry.id}' is closed`);
      const [h, w] = input.size;
      await inFlight.run(() => queue.push({ width: w, height: h, data: new Uint8Array(w * h * 3) }));
    },
    async close() {
      if (closed) return;
      closed = true;
      // Every queue push happens inside inFlight, so idle also means the queue is drained.
      await inFlight.idle();
      await session.release();
    },
  };
}
