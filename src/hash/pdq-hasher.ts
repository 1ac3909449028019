/**
 * PDQ perceptual hashing (Meta ThreatExchange), bit-exact with the C++ reference on identical
 * pixels: hash, quality and the seven dihedral hashes.
 *
 * Steps, as in the reference: inputs over 512 px on a side are first reduced to exactly
 * 512x512 by nearest neighbour (aspect not kept); float32 luma; tent filter (pdq-jarosz.ts)
 * and decimation to 64x64; quality from the 64x64 gradients; 16x16 DCT (pdq-dct.ts); one bit
 * per coefficient above the median (pdq-bits.ts).
 *
 * A hasher owns its scratch buffers (about 2.3 MB) so a frame costs no large allocation; it is
 * not reentrant, so create one per worker thread. Results never alias the scratch buffers.
 */
import type { RgbImage } from '../domain/frame.js';
import type { DihedralName, PdqDihedralResult, PdqHash, PdqResult } from '../domain/pdq.js';
import { applyDihedral, bitsAboveMedian, DIHEDRAL_TRANSFORMS } from './pdq-bits.js';
import { dct64To16 } from './pdq-dct.js';
import { boxColumns, boxRows, createBoxScratch, fillDecimationIndices, jaroszWindow } from './pdq-jarosz.js';

/** Images with a side under this (after the 512 reduction) get an all-zero hash, quality 0. */
export const PDQ_MIN_SIDE = 5;
/** Larger images are first reduced to exactly this square by nearest neighbour. */
export const PDQ_REDUCED_SIDE = 512;

export interface PdqHasher {
  /** Hash and quality (0..100) of a packed RGB image such as an ffmpeg rgb24 frame. */
  hash(img: RgbImage): PdqResult;
  /** The eight dihedral hashes from one pass, plus quality. */
  hashDihedral(img: RgbImage): PdqDihedralResult;
}

const f = Math.fround;
const MAX_PIXELS = PDQ_REDUCED_SIDE * PDQ_REDUCED_SIDE;

/** c * v in float32 for every byte v: luma becomes three loads and two rounded adds. */
function lumaTable(coefficient: number): Float32Array {
  const c = f(coefficient);
  return Float32Array.from({ length: 256 }, (_, v) => c * v);
}
const LUMA_R = lumaTable(0.299);
const LUMA_G = lumaTable(0.587);
const LUMA_B = lumaTable(0.114);

function checkImage(img: RgbImage): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`PDQ: image size must be positive integers, got ${width}x${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new RangeError(
      `PDQ: expected packed RGB of ${width}x${height}x3 = ${width * height * 3} bytes, got ${data.length}`,
    );
  }
}

/** Gradient-count heuristic of the reference: sum of |du|*100/255 truncated, over 90, capped. */
function quality(a: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < 63; i++) {
    for (let j = 0; j < 64; j++) {
      const d = f(f(f(a[i * 64 + j]! - a[(i + 1) * 64 + j]!) * 100) / 255);
      sum += Math.abs(Math.trunc(d));
    }
  }
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 63; j++) {
      const d = f(f(f(a[i * 64 + j]! - a[i * 64 + j + 1]!) * 100) / 255);
      sum += Math.abs(Math.trunc(d));
    }
  }
  return Math.min(100, Math.trunc(sum / 90));
}

export function createPdqHasher(): PdqHasher {
  const luma = new Float32Array(MAX_PIXELS);
  const filtered = new Float32Array(MAX_PIXELS);
  const sampledCols = new Float32Array(PDQ_REDUCED_SIDE * 64);
  const boxScratch = createBoxScratch(PDQ_REDUCED_SIDE);
  const rowSamples = new Int32Array(64);
  const colSamples = new Int32Array(64);
  const srcX = new Int32Array(PDQ_REDUCED_SIDE);
  const a64 = new Float32Array(64 * 64);
  const t16x64 = new Float32Array(16 * 64);
  const dct = new Float32Array(256);
  const transformed = new Float32Array(256);
  const sortScratch = new Float32Array(256);

  /** Fills `luma` (rows x cols, row-major) and returns [rows, cols] after any 512 reduction. */
  function fillLuma(img: RgbImage): [number, number] {
    const { width, height, data } = img;
    if (width <= PDQ_REDUCED_SIDE && height <= PDQ_REDUCED_SIDE) {
      const n = width * height;
      for (let p = 0, q = 0; p < n; p++, q += 3) {
        luma[p] = f(LUMA_R[data[q]!]! + LUMA_G[data[q + 1]!]!) + LUMA_B[data[q + 2]!]!;
      }
      return [height, width];
    }
    // Nearest neighbour to 512x512: source index floor(x * W / 512), as the reference's resize.
    const side = PDQ_REDUCED_SIDE;
    for (let x = 0; x < side; x++) srcX[x] = Math.floor((x * width) / side) * 3;
    for (let y = 0; y < side; y++) {
      const rowBase = Math.floor((y * height) / side) * width * 3;
      const out = y * side;
      for (let x = 0; x < side; x++) {
        const q = rowBase + srcX[x]!;
        luma[out + x] = f(LUMA_R[data[q]!]! + LUMA_G[data[q + 1]!]!) + LUMA_B[data[q + 2]!]!;
      }
    }
    return [side, side];
  }

  /** Blur and decimate `luma` into a64, in the reference's order of passes. */
  function downsample(rows: number, cols: number): void {
    const alongRows = jaroszWindow(cols);
    const alongCols = jaroszWindow(rows);
    fillDecimationIndices(rows, rowSamples);
    fillDecimationIndices(cols, colSamples);
    boxRows(luma, rows, cols, alongRows, boxScratch, filtered);
    boxColumns(filtered, rows, cols, alongCols, boxScratch, luma);
    boxRows(luma, rows, cols, alongRows, boxScratch, sampledCols, colSamples);
    boxColumns(sampledCols, rows, 64, alongCols, boxScratch, a64, rowSamples);
  }

  /**
   * Leaves the 16x16 DCT in `dct` and returns the quality, or -1 for an image too small to hash.
   * `takeExact64` mirrors the reference's single-hash path, which treats an exactly 64x64 input
   * as already downsampled (its dihedral path filters it like any other size).
   */
  function transform(img: RgbImage, takeExact64: boolean): number {
    checkImage(img);
    const [rows, cols] = fillLuma(img);
    if (rows < PDQ_MIN_SIDE || cols < PDQ_MIN_SIDE) return -1;
    if (takeExact64 && rows === 64 && cols === 64) a64.set(luma.subarray(0, 64 * 64));
    else downsample(rows, cols);
    const q = quality(a64);
    dct64To16(a64, t16x64, dct);
    return q;
  }

  return {
    hash(img: RgbImage): PdqResult {
      const q = transform(img, true);
      if (q < 0) return { hash: new Uint16Array(16), quality: 0 };
      return { hash: bitsAboveMedian(dct, sortScratch), quality: q };
    },

    hashDihedral(img: RgbImage): PdqDihedralResult {
      const q = transform(img, false);
      const hashes = {} as Record<DihedralName, PdqHash>;
      for (const t of DIHEDRAL_TRANSFORMS) {
        if (q < 0) {
          hashes[t.name] = new Uint16Array(16);
          continue;
        }
        applyDihedral(dct, t, transformed);
        hashes[t.name] = bitsAboveMedian(transformed, sortScratch);
      }
      return { hashes, quality: Math.max(q, 0) };
    },
  };
}
