import sharp from 'sharp';
import type { RgbImage } from '../../domain/frame.js';
import { assertRgbImage } from './rgb-image.js';

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
  assertTarget(width, height);
  assertRgbImage(image);
  const xs = axisTaps(image.width, width);
  const ys = axisTaps(image.height, height);
  const src = image.data;
  const inRow = image.width * 3;
  const outRow = width * 3;
  // Vertical pass first, straight from the bytes: each output row is a weighted sum of a few
  // whole source rows, a linear walk through memory.
  const tmp = new Float32Array(height * inRow);
  const ky = ys.taps;
  for (let y = 0; y < height; y++) {
    const dst = y * inRow;
    for (let k = 0; k < ky; k++) {
      const w = ys.weight[y * ky + k]!;
      if (w === 0) continue;
      const base = (ys.start[y]! + k) * inRow;
      for (let i = 0; i < inRow; i++) tmp[dst + i]! += src[base + i]! * w;
    }
  }
  // Horizontal pass, rounding once.
  const size = width * height * 3;
  const data = out && out.length >= size ? out.subarray(0, size) : new Uint8Array(size);
  const kx = xs.taps;
  for (let y = 0; y < height; y++) {
    const row = y * inRow;
    let d = y * outRow;
    for (let x = 0; x < width; x++, d += 3) {
      let p = row + xs.start[x]! * 3;
      let wi = x * kx;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < kx; k++, p += 3, wi++) {
        const w = xs.weight[wi]!;
        r += tmp[p]! * w;
        g += tmp[p + 1]! * w;
        b += tmp[p + 2]! * w;
      }
      data[d] = r <= 0 ? 0 : r >= 255 ? 255 : Math.round(r);
      data[d + 1] = g <= 0 ? 0 : g >= 255 ? 255 : Math.round(g);
      data[d + 2] = b <= 0 ? 0 : b >= 255 ? 255 : Math.round(b);
    }
  }
  return { width, height, data };
}

function assertTarget(width: number, height: number): void {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`cannot resize to ${width}x${height}: the size must be positive integers`);
  }
}

/** For each output position: first source index and `taps` weights (zero-padded). */
interface Taps {
  readonly taps: number;
  readonly start: Int32Array;
  readonly weight: Float32Array;
}

const tapCache = new Map<string, Taps>();

/** Source indices and weights for each output position along one axis (cached: sizes repeat). */
function axisTaps(inSize: number, outSize: number): Taps {
  const key = `${inSize}:${outSize}`;
  const hit = tapCache.get(key);
  if (hit) return hit;
  const scale = inSize / outSize;
  const lists: Array<{ first: number; weights: number[] }> = [];
  for (let o = 0; o < outSize; o++) {
    const weights: number[] = [];
    let first: number;
    if (scale >= 1) {
      const begin = o * scale;
      const end = begin + scale;
      first = Math.floor(begin);
      for (let j = first; j < Math.min(Math.ceil(end), inSize); j++) {
        weights.push(Math.max(0, Math.min(end, j + 1) - Math.max(begin, j)) / scale);
      }
    } else {
      const centre = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), inSize - 1);
      first = Math.floor(centre);
      const f = centre - first;
      weights.push(1 - f);
      if (first + 1 < inSize) weights.push(f);
    }
    lists.push({ first, weights });
  }
  const taps = Math.max(...lists.map((l) => l.weights.length));
  const start = new Int32Array(outSize);
  const weight = new Float32Array(outSize * taps);
  lists.forEach((l, o) => {
    // Keep every tap inside the source: shift the window left at the far edge (extra weights are 0).
    const first = Math.min(l.first, inSize - taps);
    start[o] = Math.max(0, first);
    l.weights.forEach((w, k) => {
      weight[o * taps + (l.first - start[o]!) + k] = w;
    });
  });
  const result = { taps, start, weight };
  if (tapCache.size > 64) tapCache.clear();
  tapCache.set(key, result);
  return result;
}

/**
 * The same resize done by libvips (sharp) on its thread pool: about 3x cheaper than the JS
 * version on a 512→224 frame and off the event loop, so the frame path uses it. Anti-aliased
 * triangle filter when shrinking (the kernel widens with the scale), bilinear when enlarging.
 * An image already at the target size is returned as is.
 */
export async function scaleRgb(image: RgbImage, width: number, height: number): Promise<RgbImage> {
  if (image.width === width && image.height === height) return image;
  assertTarget(width, height);
  assertRgbImage(image);
  const { data, info } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 3) {
    throw new Error(`sharp resized to ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x3`);
  }
  return { width, height, data };
}

/**
 * One frame on its way through several models: each size it is scaled to is computed once and
 * shared, so the nudity model and a drop-in model with the same input size do not both scale
 * the same frame. Made per frame (the composite makes one per classify() call) and dropped with it.
 */
export interface ScaledFrame {
  readonly source: RgbImage;
  /** The frame at `width` x `height` (the source itself at its own size); one scaling per size. */
  at(width: number, height: number): Promise<RgbImage>;
}

export function scaledFrame(source: RgbImage): ScaledFrame {
  const sizes = new Map<string, Promise<RgbImage>>();
  return {
    source,
    at(width, height) {
      const key = `${width}x${height}`;
      let scaled = sizes.get(key);
      if (!scaled) {
        scaled = scaleRgb(source, width, height);
        sizes.set(key, scaled);
      }
      return scaled;
    },
  };
}

export function isScaledFrame(image: RgbImage | ScaledFrame): image is ScaledFrame {
  return 'at' in image && typeof image.at === 'function';
}

/** `image` as a ScaledFrame: itself when it is one, else a fresh one of its own. */
export function asScaledFrame(image: RgbImage | ScaledFrame): ScaledFrame {
  return isScaledFrame(image) ? image : scaledFrame(image);
}
