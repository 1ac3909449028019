import { describe, expect, it } from 'vitest';
import { clipCrop, detectorInput, faceCropInput } from '../../../src/worker/classify/face-preprocess.js';
import type { RgbImage } from '../../../src/domain/frame.js';

/** An image whose red channel is `value(x, y)`, green 2× that, blue 0. */
function ramp(width: number, height: number, value: (x: number, y: number) => number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = value(x, y);
      data.set([v, 2 * v, 0], (y * width + x) * 3);
    }
  }
  return { width, height, data };
}

/** Channel `c` of an NCHW single-image tensor as rows. */
function channel(t: Float32Array, c: number, size: number, offset = 0): number[][] {
  return Array.from({ length: size }, (_, y) =>
    Array.from(t.subarray(offset + c * size * size + y * size, offset + c * size * size + (y + 1) * size)),
  );
}

describe('detectorInput', () => {
  it('is the identity (as NCHW) for a square image already at the input size', () => {
    const img = ramp(4, 4, (x, y) => 10 * y + x);
    const t = detectorInput(img, 4);
    expect(channel(t, 0, 4)).toEqual([
      [0, 1, 2, 3],
      [10, 11, 12, 13],
      [20, 21, 22, 23],
      [30, 31, 32, 33],
    ]);
    expect(channel(t, 1, 4)[3]).toEqual([60, 62, 64, 66]);
    expect(
      channel(t, 2, 4)
        .flat()
        .every((v) => v === 0),
    ).toBe(true);
  });

  it('pads a wide frame with black at the bottom, not centred', () => {
    const img = ramp(4, 2, () => 100);
    expect(channel(detectorInput(img, 4), 0, 4)).toEqual([
      [100, 100, 100, 100],
      [100, 100, 100, 100],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
  });

  it('pads a tall frame at the right', () => {
    const img = ramp(2, 4, () => 50);
    expect(channel(detectorInput(img, 4), 0, 4)[1]).toEqual([50, 50, 0, 0]);
  });

  it('upsamples with TF bilinear, half_pixel_centers off: source = out × in/out, edge clamped', () => {
    const img = ramp(2, 2, (x, y) => (x === 1 ? 100 : 0) + (y === 1 ? 40 : 0));
    // Columns sample source x = 0, 0.5, 1, 1.5 → 0, 50, 100, 100 (clamped); rows likewise.
    expect(channel(detectorInput(img, 4), 0, 4)).toEqual([
      [0, 50, 100, 100],
      [20, 70, 120, 120],
      [40, 90, 140, 140],
      [40, 90, 140, 140],
    ]);
  });

  it('downsamples by sampling at out × in/out (no area averaging)', () => {
    const img = ramp(8, 8, (x) => x * 10);
    expect(channel(detectorInput(img, 4), 0, 4)[0]).toEqual([0, 20, 40, 60]);
  });

  it('reuses a caller buffer and checks its size', () => {
    const img = ramp(3, 3, () => 7);
    const buf = new Float32Array(3 * 9);
    expect(detectorInput(img, 3, buf)).toBe(buf);
    expect(() => detectorInput(img, 3, new Float32Array(5))).toThrow(RangeError);
  });

  it('rejects images whose byte count does not match their size', () => {
    expect(() => detectorInput({ width: 2, height: 2, data: new Uint8Array(11) }, 4)).toThrow(/needs 12/);
  });
});

describe('clipCrop', () => {
  it('clips to the frame and floors to whole pixels', () => {
    expect(clipCrop({ x: -3.5, y: 2.7, width: 10.2, height: 4.9 }, 100, 100)).toEqual({ x: 0, y: 2, width: 6, height: 4 });
    expect(clipCrop({ x: 95.2, y: 90, width: 20, height: 20 }, 100, 100)).toEqual({ x: 95, y: 90, width: 4, height: 10 });
  });

  it('is null when less than a pixel of the box is inside', () => {
    expect(clipCrop({ x: -10, y: 0, width: 5, height: 5 }, 100, 100)).toBeNull();
    expect(clipCrop({ x: 99.5, y: 0, width: 0.4, height: 5 }, 100, 100)).toBeNull();
  });
});

describe('faceCropInput', () => {
  it('pads a tall crop to a centred square: the larger half (rounded up) after the crop', () => {
    // Crop 1×4 → side 4, 3 columns of padding: 1 before, 2 after (face-api: round(1.5) = 2 after).
    const img = ramp(5, 4, (x) => (x === 2 ? 200 : 9));
    const t = faceCropInput(img, { x: 2, y: 0, width: 1, height: 4 }, 4);
    expect(channel(t, 0, 4)).toEqual(Array.from({ length: 4 }, () => [0, 200, 0, 0]));
  });

  it('pads a wide crop at top and bottom, and writes at an offset into a batch', () => {
    const img = ramp(4, 2, () => 30);
    const batch = new Float32Array(2 * 3 * 16).fill(-1);
    faceCropInput(img, { x: 0, y: 0, width: 4, height: 2 }, 4, batch, 3 * 16);
    expect(batch.subarray(0, 3 * 16).every((v) => v === -1)).toBe(true);
    expect(channel(batch, 0, 4, 3 * 16).map((r) => r[0])).toEqual([0, 30, 30, 0]);
  });

  it('takes the pixels of the crop, not of the frame origin', () => {
    const img = ramp(6, 6, (x, y) => 10 * y + x);
    const t = faceCropInput(img, { x: 3, y: 2, width: 2, height: 2 }, 2);
    expect(channel(t, 0, 2)).toEqual([
      [23, 24],
      [33, 34],
    ]);
  });

  it('gives the same tensor whatever was resized before it (the per-size tables are reused)', () => {
    const img = ramp(37, 23, (x, y) => (x * 7 + y * 13) % 256);
    const crops = [
      { x: 3, y: 2, width: 11, height: 17 },
      { x: 20, y: 1, width: 16, height: 9 },
      { x: 0, y: 0, width: 37, height: 23 },
    ];
    const first = crops.map((c) => faceCropInput(img, c, 12));
    // Other geometries at the same output size, and the detector, in between.
    detectorInput(
      ramp(9, 31, (x, y) => x + y),
      12,
    );
    const again = [...crops]
      .reverse()
      .map((c) => faceCropInput(img, c, 12))
      .reverse();
    expect(again).toEqual(first);
    const wide = detectorInput(img, 12);
    faceCropInput(img, crops[0]!, 12);
    expect(detectorInput(img, 12)).toEqual(wide);
  });

  it('refuses a crop outside the image', () => {
    const img = ramp(4, 4, () => 1);
    expect(() => faceCropInput(img, { x: 2, y: 2, width: 3, height: 1 }, 4)).toThrow(RangeError);
  });
});
