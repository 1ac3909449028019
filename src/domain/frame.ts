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
