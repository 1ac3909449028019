import { ModelError } from '../domain/errors.js';
import type { RgbImage } from '../domain/frame.js';

/**
 * Why `image` is not packed 8-bit RGB (positive whole-pixel size, exactly width·height·3 bytes:
 * no padding, as frames leave ffmpeg), or undefined when it is. The one check every classifier
 * path uses, so they all accept and refuse the same images.
 */
export function rgbImageProblem(image: RgbImage): string | undefined {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    return `image size must be positive integers, got ${width}x${height}`;
  }
  const needed = width * height * 3;
  if (data?.length !== needed) return `image ${width}x${height} needs ${needed} RGB bytes, got ${data?.length ?? 'none'}`;
  return undefined;
}

/** For the pure image functions: a RangeError unless `image` is packed RGB. */
export function assertRgbImage(image: RgbImage): void {
  const problem = rgbImageProblem(image);
  if (problem) throw new RangeError(problem);
}

/**
 * For the models' entry points: a frame that is not packed RGB fails that frame with
 * `inference_failed`, not retryable (the same bytes fail again), before any session sees it.
 */
export function assertFrame(image: RgbImage): void {
  const problem = rgbImageProblem(image);
  if (problem) throw new ModelError('inference_failed', `not a packed RGB frame: ${problem}`, { retryable: false });
}
