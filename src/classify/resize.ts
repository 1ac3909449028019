import type { RgbImage } from '../domain/frame.js';

/**
 * Resizes packed RGB to exactly `width` x `height` (aspect not kept, as ffmpeg's scale does).
 * Downscaling averages the source pixels each output pixel covers (area / box filter, the
 * sampler's own `area` choice: no aliasing from 512 px frames down to 224); upscaling is
 * bilinear with pixel centres aligned. Separable, in float32, rounded once at the end.
 *
 * An image that already has the target size is returned as is: never resampled.
 */
export function resizeRgb(image: RgbImage, width: number, height: number, out?: Uint8Array): RgbImage {
  if (image.width === width && image.height === height) return image;
  if (!(width > 0 && height > 0 && image.width > 0 && image.height > 0)) {
    throw new RangeError(`cannot resize ${image.width}x${image.height} to ${width}x${height}`);
  }
  if (image.data.length < image.width * image.height * 3) {
    throw new RangeError(`image data holds ${image.data.length} bytes, ${image.width}x${image.height} RGB needs ${image.width * image.height * 3}`);
  }
  const xs = axisTaps(image.width, width);
  const ys = axisTaps(image.height, height);
  const src = image.data;
  const inW = image.width;
  // Horizontal pass: every source row to `width` columns.
  const tmp = new Float32Array(image.height * width * 3);
  for (let y = 0; y < image.height; y++) {
    const row = y * inW * 3;
    const dstRow = y * width * 3;
    for (let x = 0; x < width; x++) {
      const { index, weight } = xs[x]!;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < index.length; k++) {
        const p = row + index[k]! * 3;
        const w = weight[k]!;
        r += src[p]! * w;
        g += src[p + 1]! * w;
        b += src[p + 2]! * w;
      }
      const d = dstRow + x * 3;
      tmp[d] = r;
      tmp[d + 1] = g;
      tmp[d + 2] = b;
    }
  }
  // Vertical pass.
  const size = width * height * 3;
  const data = out && out.length >= size ? out.subarray(0, size) : new Uint8Array(size);
  const stride = width * 3;
  for (let y = 0; y < height; y++) {
    const { index, weight } = ys[y]!;
    const dstRow = y * stride;
    for (let i = 0; i < stride; i++) {
      let v = 0;
      for (let k = 0; k < index.length; k++) v += tmp[index[k]! * stride + i]! * weight[k]!;
      data[dstRow + i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
  return { width, height, data };
}

interface Taps {
  readonly index: Int32Array;
  readonly weight: Float32Array;
}

const tapCache = new Map<string, Taps[]>();

/** Source indices and weights for each output position along one axis (cached: sizes repeat). */
function axisTaps(inSize: number, outSize: number): Taps[] {
  const key = `${inSize}:${outSize}`;
  const hit = tapCache.get(key);
  if (hit) return hit;
  const taps: Taps[] = [];
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const index: number[] = [];
    const weight: number[] = [];
    if (scale >= 1) {
      const start = o * scale;
      const end = start + scale;
      for (let j = Math.floor(start); j < Math.min(Math.ceil(end), inSize); j++) {
        const overlap = Math.min(end, j + 1) - Math.max(start, j);
        if (overlap > 1e-9) {
          index.push(j);
          weight.push(overlap / scale);
        }
      }
    } else {
      const centre = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), inSize - 1);
      const j0 = Math.floor(centre);
      const j1 = Math.min(j0 + 1, inSize - 1);
      const f = centre - j0;
      index.push(j0);
      weight.push(1 - f);
      if (j1 !== j0 && f > 0) {
        index.push(j1);
        weight.push(f);
      }
    }
    taps.push({ index: Int32Array.from(index), weight: Float32Array.from(weight) });
  }
  if (tapCache.size > 64) tapCache.clear();
  tapCache.set(key, taps);
  return taps;
}
