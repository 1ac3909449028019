/**
 * PDQ perceptual hashing (Meta ThreatExchange), bit-exact with the C++ reference on identical
 * pixels: hash, quality and the seven dihedral hashes.
 *
 * Steps, as in the reference: inputs over 512 px on a side are first reduced to exactly
 * 512x512 by nearest neighbour (aspect not kept); float32 luma (the grey value itself when every
 * pixel is grey, see greyLuma below); tent filter (pdq-jarosz.ts)
 * and decimation to 64x64; quality from the 64x64 gradients; 16x16 DCT (pdq-dct.ts); one bit
 * per coefficient above the median (pdq-bits.ts). Luma, filter and DCT run as WebAssembly
 * kernels (pdq-wasm.ts), the rest here.
 *
 * A hasher owns its kernel memory (about 2.9 MB) so a frame costs no large allocation; calls
 * are synchronous, so one hasher serves a whole thread. Results never alias that memory.
 */
import { rgbImageProblem, type RgbImage } from '../domain/frame.js';
import type { DihedralName, PdqDihedralResult, PdqHash, PdqResult } from '../domain/pdq.js';
import { applyDihedral, bitsAboveMedian, DIHEDRAL_TRANSFORMS } from './pdq-bits.js';
import { PDQ_DCT_MATRIX } from './pdq-dct.js';
import { boxSchedule, fillDecimationIndices, jaroszWindow, type BoxSchedule } from './pdq-jarosz.js';
import { createPdqKernels, KERNEL_MAX_SIDE, LAYOUT } from './pdq-wasm.js';

/** Images with a side under this (after the 512 reduction) get an all-zero hash, quality 0. */
export const PDQ_MIN_SIDE = 5;
/** Larger images are first reduced to exactly this square by nearest neighbour. */
export const PDQ_REDUCED_SIDE = KERNEL_MAX_SIDE;

export interface PdqHasher {
  /** Hash and quality (0..100) of a packed RGB image such as an ffmpeg rgb24 frame. */
  hash(img: RgbImage): PdqResult;
  /** The eight dihedral hashes from one pass, plus quality. */
  hashDihedral(img: RgbImage): PdqDihedralResult;
}

const f = Math.fround;

/**
 * Chunk of a large original copied into kernel memory for the grey check: whole 16-pixel groups
 * that fit in one float plane (free until luma runs).
 */
const GREY_CHUNK = Math.floor((KERNEL_MAX_SIDE * KERNEL_MAX_SIDE * 4) / 48) * 48;

function checkImage(img: RgbImage): void {
  const problem = rgbImageProblem(img);
  if (problem) throw new RangeError(`PDQ: ${problem}`);
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

/**
 * Filter plan for one image size, kept until a frame of another size arrives. Streams of
 * different sizes do alternate in one worker (the sampler's `shrink` mode keeps small sources at
 * their own size), but rebuilding costs about 3 us against 0.7-1.7 ms for the hash, and a cache of
 * several plans would still have to copy the divisors back into kernel memory on each switch:
 * measured no faster (4 sizes alternating, LRU of 4 vs this: 1.00-1.04x the time).
 */
interface Plan {
  readonly rows: number;
  readonly cols: number;
  /** Row stride of the float planes, in floats (cols rounded up to whole f32x4 groups). */
  readonly stride: number;
  readonly alongRows: BoxSchedule;
  readonly alongCols: BoxSchedule;
  readonly rowSamples: Int32Array;
  readonly colSamples: Int32Array;
}

export function createPdqHasher(): PdqHasher {
  const k = createPdqKernels();
  const { u8, f32 } = k;
  const a64 = f32.subarray(LAYOUT.a64 / 4, LAYOUT.a64 / 4 + 64 * 64);
  const dct = f32.subarray(LAYOUT.b16 / 4, LAYOUT.b16 / 4 + 256);
  const transformed = new Float32Array(256);
  const sortScratch = new Float32Array(256);
  const srcX = new Int32Array(PDQ_REDUCED_SIDE);
  f32.set(PDQ_DCT_MATRIX, LAYOUT.dct / 4);
  for (let i = 0; i < 16; i++) for (let j = 0; j < 64; j++) f32[LAYOUT.dctT / 4 + j * 16 + i] = PDQ_DCT_MATRIX[i * 64 + j]!;
  let plan: Plan | undefined;

  function planFor(rows: number, cols: number): Plan {
    if (plan?.rows === rows && plan.cols === cols) return plan;
    const rowSamples = new Int32Array(64);
    const colSamples = new Int32Array(64);
    fillDecimationIndices(rows, rowSamples);
    fillDecimationIndices(cols, colSamples);
    // Along a row the divisor depends on the column, down a column on the row.
    const alongRows = boxSchedule(cols, jaroszWindow(cols), f32.subarray(LAYOUT.rowCounts / 4, LAYOUT.rowCounts / 4 + cols));
    const alongCols = boxSchedule(rows, jaroszWindow(rows), f32.subarray(LAYOUT.colCounts / 4, LAYOUT.colCounts / 4 + rows));
    plan = { rows, cols, stride: (cols + 3) & ~3, alongRows, alongCols, rowSamples, colSamples };
    return plan;
  }

  /** Copies the pixels into kernel memory, reduced to 512x512 when `reduce`. */
  function loadPixels(img: RgbImage, reduce: boolean): void {
    const { width, height, data } = img;
    if (!reduce) {
      u8.set(data, LAYOUT.rgb);
      return;
    }
    // Nearest neighbour to 512x512: source index floor(x * W / 512), as the reference's resize.
    const side = PDQ_REDUCED_SIDE;
    for (let x = 0; x < side; x++) srcX[x] = Math.floor((x * width) / side) * 3;
    let q = LAYOUT.rgb;
    for (let y = 0; y < side; y++) {
      const row = Math.floor((y * height) / side) * width * 3;
      for (let x = 0; x < side; x++, q += 3) {
        const p = row + srcX[x]!;
        u8[q] = data[p]!;
        u8[q + 1] = data[p + 1]!;
        u8[q + 2] = data[p + 2]!;
      }
    }
  }

  function boxRows(input: number, out: number, p: Plan): void {
    const { lead, grow, shrinkFrom } = p.alongRows;
    const fours = p.rows & ~3;
    k.boxRows4(input, out, fours, p.cols, p.stride, LAYOUT.rowCounts, lead, grow, shrinkFrom);
    const skip = fours * p.stride * 4;
    k.boxRows1(input + skip, out + skip, p.rows - fours, p.cols, p.stride, LAYOUT.rowCounts, lead, grow, shrinkFrom);
  }

  function boxCols(input: number, out: number, p: Plan): void {
    const { lead, grow, shrinkFrom } = p.alongCols;
    k.boxCols(input, out, LAYOUT.sums, p.rows, p.stride, LAYOUT.colCounts, lead, grow, shrinkFrom);
  }

  /** Whether the `bytes` RGB bytes at `at` in kernel memory are all grey pixels. */
  function greyRun(at: number, bytes: number): boolean {
    const whole = bytes - (bytes % 48);
    k.allGrey(at, whole, LAYOUT.flag);
    if (u8[LAYOUT.flag] === 0) return false;
    for (let p = at + whole; p < at + bytes; p += 3) if (u8[p + 1] !== u8[p] || u8[p + 2] !== u8[p]) return false;
    return true;
  }

  /**
   * The reference tool decodes through ImageMagick to PNM, which writes an image whose pixels are
   * all grey as a greyscale PGM (a black-and-white one as PBM, read back as 0/255), and the
   * reference then takes the grey value as luma instead of (0.299 R + 0.587 G) + 0.114 B; the two
   * differ by float32 rounding, which flips the bits of coefficients that sit at the median (small
   * symmetric images). The decision is on the whole original, before the 512 reduction, like the
   * decoder's; called with the loaded (maybe reduced) pixels already in kernel memory.
   */
  function greyLuma(img: RgbImage, reduced: boolean, loadedBytes: number): boolean {
    if (!greyRun(LAYOUT.rgb, loadedBytes)) return false;
    if (!reduced) return true;
    const { data } = img;
    for (let at = 0; at < data.length; at += GREY_CHUNK) {
      const chunk = data.subarray(at, Math.min(at + GREY_CHUNK, data.length));
      u8.set(chunk, LAYOUT.planeA);
      if (!greyRun(LAYOUT.planeA, chunk.length)) return false;
    }
    return true;
  }

  /** Luma, tent filter (rows, columns, rows, columns as the reference) and decimation into a64. */
  function downsample(rows: number, cols: number, grey: boolean): void {
    const p = planFor(rows, cols);
    (grey ? k.lumaGrey : k.luma)(LAYOUT.rgb, LAYOUT.planeA, rows, cols, p.stride);
    boxRows(LAYOUT.planeA, LAYOUT.planeB, p);
    boxCols(LAYOUT.planeB, LAYOUT.planeA, p);
    boxRows(LAYOUT.planeA, LAYOUT.planeB, p);
    boxCols(LAYOUT.planeB, LAYOUT.planeA, p);
    const plane = LAYOUT.planeA / 4;
    for (let i = 0; i < 64; i++) {
      const row = plane + p.rowSamples[i]! * p.stride;
      for (let j = 0; j < 64; j++) a64[i * 64 + j] = f32[row + p.colSamples[j]!]!;
    }
  }

  /**
   * Leaves the 16x16 DCT in `dct` and returns the quality, or -1 for an image too small to hash.
   * `takeExact64` mirrors the reference's single-hash path, which treats an exactly 64x64 input
   * as already downsampled (its dihedral path filters it like any other size).
   */
  function transform(img: RgbImage, takeExact64: boolean): number {
    checkImage(img);
    const reduce = img.width > PDQ_REDUCED_SIDE || img.height > PDQ_REDUCED_SIDE;
    const rows = reduce ? PDQ_REDUCED_SIDE : img.height;
    const cols = reduce ? PDQ_REDUCED_SIDE : img.width;
    if (rows < PDQ_MIN_SIDE || cols < PDQ_MIN_SIDE) return -1;
    loadPixels(img, reduce);
    const grey = greyLuma(img, reduce, rows * cols * 3);
    if (takeExact64 && rows === 64 && cols === 64) (grey ? k.lumaGrey : k.luma)(LAYOUT.rgb, LAYOUT.a64, 64, 64, 64);
    else downsample(rows, cols, grey);
    const q = quality(a64);
    k.dct(LAYOUT.a64, LAYOUT.dct, LAYOUT.dctT, LAYOUT.t16x64, LAYOUT.b16);
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
