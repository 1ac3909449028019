/**
 * The optimised hasher against the plain oracle (test/hash/pdq-naive.ts) on synthetic images of
 * awkward sizes, plus the hasher's contract: input checks, tiny images, the reference's 64x64
 * quirk, no aliasing between results, independent hashers.
 */
import { describe, expect, it } from 'vitest';
import type { RgbImage } from '../../src/domain/frame.js';
import { DIHEDRAL_ORDER, pdqToHex } from '../../src/domain/pdq.js';
import { createPdqHasher } from '../../src/hash/pdq-hasher.js';
import { naiveBitsToHex, naivePdqDihedral, naivePdqHash } from './pdq-naive.js';

/** Deterministic pseudo-random generator so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** Smooth colour gradients with blobs and a little noise: realistic enough to give varied quality. */
function synthetic(width: number, height: number, seed: number): RgbImage {
  const r = rng(seed);
  const blobs = Array.from({ length: 6 }, () => ({
    x: r() * width,
    y: r() * height,
    s: 5 + (r() * Math.max(width, height)) / 3,
    c: [r(), r(), r()],
  }));
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let v = 60 * (x / width) + 50 * (y / height) * c;
        for (const b of blobs) v += 120 * b.c[c]! * Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.s * b.s));
        data[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v + 12 * (r() - 0.5))));
      }
    }
  }
  return { width, height, data };
}

function noise(width: number, height: number, seed: number): RgbImage {
  const r = rng(seed);
  return { width, height, data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(r() * 256)) };
}

const hasher = createPdqHasher();

function expectSameAsOracle(img: RgbImage): void {
  const fast = hasher.hash(img);
  const slow = naivePdqHash(img);
  expect(pdqToHex(fast.hash)).toBe(naiveBitsToHex(slow.bits));
  expect(fast.quality).toBe(slow.quality);
  const fastD = hasher.hashDihedral(img);
  const slowD = naivePdqDihedral(img);
  expect(DIHEDRAL_ORDER.map((n) => pdqToHex(fastD.hashes[n]))).toEqual(slowD.bits.map(naiveBitsToHex));
  expect(fastD.quality).toBe(slowD.quality);
}

describe('PDQ hasher = plain oracle', () => {
  // Sizes chosen for the code paths: minimum side, window sizes 1..4 (sides up to 128, 256,
  // 384, 512), odd widths (f32x4 padding), row counts not a multiple of 4, the 512 reduction
  // from either side, and thin images that only become hashable through that reduction.
  const sizes: Array<[number, number]> = [
    [5, 5],
    [6, 7],
    [34, 42],
    [63, 65],
    [100, 37],
    [129, 257],
    [257, 384],
    [385, 511],
    [512, 512],
    [513, 5],
    [3, 600],
    [1000, 700],
    [1280, 720],
    [700, 1000],
  ];
  it.each(sizes)('synthetic %ix%i', (w, h) => expectSameAsOracle(synthetic(w, h, w * 1000 + h)));
  it.each([
    [64, 64],
    [300, 200],
    [17, 512],
  ] as Array<[number, number]>)('noise %ix%i', (w, h) => expectSameAsOracle(noise(w, h, w + h)));
  it('flat image: quality 0, same bits as the oracle', () => {
    const flat = { width: 40, height: 30, data: new Uint8Array(40 * 30 * 3).fill(128) };
    expect(hasher.hash(flat).quality).toBe(0);
    expectSameAsOracle(flat);
  });
});

/** The same picture with R = G = B: every pixel grey. */
function grey(img: RgbImage): RgbImage {
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i += 3) data.fill(img.data[i + 1]!, i, i + 3);
  return { width: img.width, height: img.height, data };
}

describe('PDQ hasher on all-grey images (the reference reads them as greyscale: luma = grey value)', () => {
  // Sizes cover the in-memory check (tails that are not whole 16-pixel groups), the 64x64
  // shortcut, and originals over 512 px checked chunk by chunk.
  it.each([
    [5, 5],
    [64, 64],
    [70, 70],
    [128, 96],
    [333, 17],
    [1000, 700],
    [1280, 720],
  ] as Array<[number, number]>)('grey %ix%i = oracle', (w, h) => expectSameAsOracle(grey(synthetic(w, h, w + 7 * h))));

  /** A radial grey ramp: symmetric, so many DCT coefficients sit at the median and the luma rule decides them. */
  function radial(w: number, h: number): RgbImage {
    const data = new Uint8Array(w * h * 3);
    const scale = 255 / Math.hypot(w / 2, h / 2);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++)
        data.fill(Math.round(255 - scale * Math.hypot(x - (w - 1) / 2, y - (h - 1) / 2)), (y * w + x) * 3, (y * w + x + 1) * 3);
    }
    return { width: w, height: h, data };
  }

  /**
   * Mirror-symmetric 16x16 blocks of the grey levels whose RGB-formula luma is not the level
   * itself (35 of 256): big enough to be reduced to 512, symmetric enough that the luma rule
   * decides bits after the reduction.
   */
  function mirroredBlocks(side: number, seed: number): RgbImage {
    const f = Math.fround;
    const levels = Array.from({ length: 256 }, (_, v) => v).filter((v) => f(f(f(f(0.299) * v) + f(f(0.587) * v)) + f(f(0.114) * v)) !== v);
    const r = rng(seed);
    const grid = Array.from({ length: 64 }, () => levels[Math.floor(r() * levels.length)]!);
    const cell = (c: number) => Math.floor((Math.min(c, side - 1 - c) / side) * 16);
    const data = new Uint8Array(side * side * 3);
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) data.fill(grid[cell(y) * 8 + cell(x)]!, (y * side + x) * 3, (y * side + x + 1) * 3);
    }
    return { width: side, height: side, data };
  }

  // At 1024 px the reduction keeps even coordinates only: pixels 1 and 1024*1024-1 are dropped.
  it.each([
    ['radial 70x70', 0, () => radial(70, 70)],
    ['radial 70x70', 70 * 70 - 1, () => radial(70, 70)],
    ['blocks 1024x1024', 1, () => mirroredBlocks(1024, 1)],
    ['blocks 1024x1024', 1024 * 1024 - 1, () => mirroredBlocks(1024, 1)],
  ] as Array<[string, number, () => RgbImage]>)('%s: one colour pixel (#%i) makes the whole image colour', (_name, at, make) => {
    const img = make();
    const tinted = { ...img, data: Uint8Array.from(img.data) };
    tinted.data[at * 3 + 2] = tinted.data[at * 3 + 2]! ^ 1;
    expectSameAsOracle(img);
    expectSameAsOracle(tinted);
    expect(pdqToHex(hasher.hash(tinted).hash)).not.toBe(pdqToHex(hasher.hash(img).hash));
  });
});

describe('PDQ hasher contract', () => {
  it('images under 5 px on a side: all-zero hashes, quality 0', () => {
    for (const [w, h] of [
      [1, 1],
      [4, 100],
      [100, 4],
    ] as const) {
      const img = noise(w, h, 7);
      const r = hasher.hash(img);
      expect(pdqToHex(r.hash)).toBe('0'.repeat(64));
      expect(r.quality).toBe(0);
      const d = hasher.hashDihedral(img);
      expect(DIHEDRAL_ORDER.every((n) => pdqToHex(d.hashes[n]) === '0'.repeat(64))).toBe(true);
      expect(d.quality).toBe(0);
    }
  });

  it('an exactly 64x64 image: hash() takes it as already downsampled, hashDihedral() filters it (as the reference)', () => {
    // At 64 px the filter window is 1, so the two paths differ only in the filter's float
    // rounding; the oracle models both paths, and both must agree with it.
    expectSameAsOracle(synthetic(64, 64, 99));
    expectSameAsOracle(noise(64, 64, 5));
    // Vertical stripes: the DCT's row frequencies are all rounding noise around zero, so that
    // float rounding decides most bits and the two paths visibly disagree.
    const r = rng(1);
    const columns = Array.from({ length: 64 }, () => [r(), r(), r()].map((v) => Math.floor(v * 256)));
    const stripes = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3) };
    for (let p = 0; p < 64 * 64; p++) stripes.data.set(columns[p % 64]!, p * 3);
    expectSameAsOracle(stripes);
    expect(pdqToHex(hasher.hash(stripes).hash)).not.toBe(pdqToHex(hasher.hashDihedral(stripes).hashes.orig));
  });

  it('accepts an ffmpeg-style Buffer slice (non-zero byteOffset) and RawFrame-shaped objects', () => {
    const img = synthetic(96, 80, 3);
    const pool = Buffer.alloc(img.data.length + 7);
    pool.set(img.data, 7);
    const frame = { streamId: 's', seq: 1, pts: 0, capturedAt: 0, width: 96, height: 80, data: pool.subarray(7) };
    expect(pdqToHex(hasher.hash(frame).hash)).toBe(pdqToHex(hasher.hash(img).hash));
  });

  it('rejects sizes that are not positive integers and data of the wrong length', () => {
    expect(() => hasher.hash({ width: 0, height: 10, data: new Uint8Array(0) })).toThrow(RangeError);
    expect(() => hasher.hash({ width: 2.5, height: 10, data: new Uint8Array(75) })).toThrow(/positive integers/);
    expect(() => hasher.hash({ width: 10, height: 10, data: new Uint8Array(299) })).toThrow(
      /PDQ: image 10x10 needs 300 RGB bytes, got 299/,
    );
    expect(() => hasher.hashDihedral({ width: 10, height: 10, data: new Uint8Array(400) })).toThrow(RangeError);
  });

  it('frames of different sizes interleaved in one hasher (streams under scaleMode shrink) hash as each alone', () => {
    const frames = [
      synthetic(512, 512, 11),
      synthetic(480, 270, 12),
      synthetic(321, 240, 13),
      synthetic(512, 512, 14),
      synthetic(480, 270, 15),
    ];
    const alone = frames.map((f) => pdqToHex(createPdqHasher().hash(f).hash));
    const shared = createPdqHasher();
    for (let round = 0; round < 2; round++) expect(frames.map((f) => pdqToHex(shared.hash(f).hash))).toEqual(alone);
    expect(pdqToHex(shared.hashDihedral(frames[1]!).hashes.orig)).toBe(alone[1]);
  });

  it('results do not alias the hasher state; hashers are independent', () => {
    const a = synthetic(200, 150, 1);
    const b = synthetic(150, 200, 2);
    const other = createPdqHasher();
    const ra = hasher.hash(a);
    const before = pdqToHex(ra.hash);
    const da = hasher.hashDihedral(a);
    hasher.hash(b);
    other.hash(b);
    expect(pdqToHex(ra.hash)).toBe(before);
    expect(pdqToHex(da.hashes.orig)).toBe(before);
    expect(pdqToHex(other.hash(a).hash)).toBe(before);
    expect(new Set(DIHEDRAL_ORDER.map((n) => da.hashes[n])).size).toBe(8);
  });
});
