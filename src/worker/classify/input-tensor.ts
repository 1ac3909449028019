import * as ort from 'onnxruntime-node';
import type { RgbImage } from '../../domain/frame.js';
import type { ModelInputSpec } from './manifest.js';
import { resizeRgb } from './resize.js';

/**
 * The input tensor for a batch of images, as the manifest says the model wants it. Images not
 * at the model's size are resized (area downscale); an image already at that size goes in
 * byte for byte. `batchSize` (≥ images.length) pads with black images for fixed-batch models.
 */
export function buildInputTensor(spec: ModelInputSpec, images: readonly RgbImage[], batchSize = images.length): ort.Tensor {
  const [h, w] = spec.size;
  const plane = h * w;
  const per = plane * 3;
  if (images.length === 0 || batchSize < images.length)
    throw new RangeError(`cannot build a batch of ${batchSize} from ${images.length} images`);
  const dims = spec.layout === 'NHWC' ? [batchSize, h, w, 3] : [batchSize, 3, h, w];
  const scaled = images.map((img) => resizeRgb(img, w, h));

  if (spec.type === 'uint8' && spec.layout === 'NHWC') {
    const only = scaled[0]!;
    if (batchSize === 1 && only.data.length === per) {
      // Zero-copy: the frame's own bytes are the tensor.
      return new ort.Tensor('uint8', new Uint8Array(only.data.buffer, only.data.byteOffset, per), dims);
    }
    const data = new Uint8Array(batchSize * per);
    scaled.forEach((img, i) => data.set(img.data.subarray(0, per), i * per));
    return new ort.Tensor('uint8', data, dims);
  }
  if (spec.type === 'uint8') {
    const data = new Uint8Array(batchSize * per);
    scaled.forEach((img, i) => {
      const base = i * per;
      for (let p = 0; p < plane; p++) {
        data[base + p] = img.data[p * 3]!;
        data[base + plane + p] = img.data[p * 3 + 1]!;
        data[base + 2 * plane + p] = img.data[p * 3 + 2]!;
      }
    });
    return new ort.Tensor('uint8', data, dims);
  }
  // In-graph normalisation on a float input means the graph wants plain pixel values.
  const { divisor, mean, std } = spec.normalisation.inGraph ? { divisor: 1, mean: [0, 0, 0], std: [1, 1, 1] } : spec.normalisation;
  const data = new Float32Array(batchSize * per);
  const nchw = spec.layout === 'NCHW';
  scaled.forEach((img, i) => {
    const base = i * per;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        const v = (img.data[p * 3 + c]! / divisor - mean[c]!) / std[c]!;
        data[nchw ? base + c * plane + p : base + p * 3 + c] = v;
      }
    }
  });
  return new ort.Tensor('float32', data, dims);
}
