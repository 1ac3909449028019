/**
 * The frame size the sampler should ask ffmpeg for, so that PDQ hashes of sampled frames stay
 * close to the hash of the full-resolution picture (what Meta's reference computes and what
 * hash lists are built from) while the pipe carries at most 512x512x3 bytes per frame.
 *
 * The reference itself reduces anything larger than 512 on a side to exactly 512x512 (aspect
 * not kept) before hashing, so that is the size to deliver: letting ffmpeg do the reduction
 * with flags=area costs little accuracy. Measured on the shared benign test images larger than
 * 512 (Debian ffmpeg 5.1, 18 images, scripts/bench-pdq-scale.ts, asserted in
 * test/hash/pdq-frame-size.test.ts): Hamming distance to the full-resolution hash median 2,
 * max 8 with area or bilinear; bicubic and neighbor are slightly worse; keeping the aspect
 * ratio (long side 512) gives median 8; 256x256 median 9 (max 22); 64x64 median 11 (max 72).
 *
 * Smaller sources must not be upscaled: the reference hashes them at their own size, and
 * upscaling to 512x512 moved hashes by up to 54 bits (256x256 images, median 10). Deliver them
 * unscaled and the hash is identical to the reference's.
 */

/** Frames are delivered at most this large on a side. */
export const PDQ_FRAME_SIDE = 512;

/** swscale algorithm for the reduction (`scale=...:flags=area`): averages, so no aliasing. */
export const PDQ_SCALE_FLAGS = 'area';

export interface FrameSize {
  readonly width: number;
  readonly height: number;
}

/** Size to deliver for a source of the given size: 512x512 when larger, else unchanged. */
export function pdqFrameSize(source: FrameSize): FrameSize {
  if (source.width > PDQ_FRAME_SIDE || source.height > PDQ_FRAME_SIDE) {
    return { width: PDQ_FRAME_SIDE, height: PDQ_FRAME_SIDE };
  }
  return { width: source.width, height: source.height };
}

/** The ffmpeg video filter that delivers pdqFrameSize(source). */
export function pdqScaleFilter(source: FrameSize): string {
  const { width, height } = pdqFrameSize(source);
  return `scale=${width}:${height}:flags=${PDQ_SCALE_FLAGS}`;
}
