/** A decoded video frame as it left ffmpeg: packed 8-bit RGB, row-major, no padding. */
export interface RawFrame {
  readonly streamId: string;
  /** 0-based index of the frame within this sampler run (restarts continue the count). */
  readonly seq: number;
  /** Presentation time in seconds on the source's timeline, when known (else seconds since sampling began). */
  readonly pts: number;
  /** Wall-clock epoch milliseconds at which the last byte of the frame was read from ffmpeg's pipe. */
  readonly capturedAt: number;
  readonly width: number;
  readonly height: number;
  readonly data: Buffer;
}

/** Any packed RGB image, from a frame or a decoded file. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/**
 * Why `image` is not packed 8-bit RGB (positive whole-pixel size, exactly width·height·3 bytes:
 * no padding, as frames leave ffmpeg), or undefined when it is. The one check the hasher and every
 * classifier path use, so they all accept and refuse the same images.
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
