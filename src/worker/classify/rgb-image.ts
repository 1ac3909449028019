import { ModelError } from '../../domain/errors.js';
import { rgbImageProblem, type RgbImage } from '../../domain/frame.js';

export { rgbImageProblem };

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
