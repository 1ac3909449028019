/**
 * A deliberately plain PDQ: the published algorithm step by step, one full-size buffer per
 * step, every float32 rounding written out with Math.fround at the point where the reference
 * C++ stores or computes a `float`. No shortcuts, no fused passes, no skipped outputs.
 *
 * It is the test oracle for the optimised hasher in src/hash (same bits on random inputs) and
 * the honest baseline that bench/bench-pdq.ts times against. It shares no code with src/hash
 * on purpose, so a mistake in one is not silently repeated in the other.
 */
import type { RgbImage } from '../../src/domain/frame.js';

const f = Math.fround;

export interface NaivePdq {
  /** 256 bits, bit k = row*16 + col of the 16x16 DCT (the reference's Hash256 bit order). */
  readonly bits: Uint8Array;
  readonly quality: number;
}

export interface NaivePdqDihedral {
  /** orig, rot90, rot180, rot270, flipx, flipy, flipplus1, flipminus1 */
  readonly bits: Uint8Array[];
  readonly quality: number;
}

/** The reference's nearest-neighbour reduction to exactly 512x512 for larger inputs. */
function reduceTo512(img: RgbImage): RgbImage {
  if (img.width <= 512 && img.height <= 512) return img;
  const out = new Uint8Array(512 * 512 * 3);
  for (let y = 0; y < 512; y++) {
    const sy = Math.floor((y * img.height) / 512);
    for (let x = 0; x < 512; x++) {
      const sx = Math.floor((x * img.width) / 512);
      for (let c = 0; c < 3; c++) out[(y * 512 + x) * 3 + c] = img.data[(sy * img.width + sx) * 3 + c]!;
    }
  }
  return { width: 512, height: 512, data: out };
}

/** Every pixel has R = G = B (the reference's decoder then hands it over as greyscale). */
function isGrey(img: RgbImage): boolean {
  for (let i = 0; i < img.data.length; i += 3) {
    if (img.data[i] !== img.data[i + 1] || img.data[i] !== img.data[i + 2]) return false;
  }
  return true;
}

/** Greyscale input: the reference takes the grey value itself as luma. */
function lumaOfGrey(img: RgbImage): Float32Array {
  const out = new Float32Array(img.width * img.height);
  for (let i = 0; i < out.length; i++) out[i] = img.data[i * 3]!;
  return out;
}

function luma(img: RgbImage): Float32Array {
  const r = f(0.299);
  const g = f(0.587);
  const b = f(0.114);
  const out = new Float32Array(img.width * img.height);
  for (let i = 0; i < out.length; i++) {
    const pr = img.data[i * 3]!;
    const pg = img.data[i * 3 + 1]!;
    const pb = img.data[i * 3 + 2]!;
    out[i] = f(f(f(r * pr) + f(g * pg)) + f(b * pb));
  }
  return out;
}

/** One 1-D box filter over a strided vector, in the reference's four phases. */
function box1d(input: Float32Array, output: Float32Array, start: number, length: number, stride: number, window: number): void {
  const half = Math.trunc((window + 2) / 2);
  const phase1 = half - 1;
  const phase2 = window - half + 1;
  const phase3 = length - window;
  const phase4 = half - 1;
  let li = start;
  let ri = start;
  let oi = start;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < phase1; i++) {
    sum = f(sum + input[ri]!);
    count++;
    ri += stride;
  }
  for (let i = 0; i < phase2; i++) {
    sum = f(sum + input[ri]!);
    count++;
    output[oi] = f(sum / count);
    ri += stride;
    oi += stride;
  }
  for (let i = 0; i < phase3; i++) {
    sum = f(sum + input[ri]!);
    sum = f(sum - input[li]!);
    output[oi] = f(sum / count);
    li += stride;
    ri += stride;
    oi += stride;
  }
  for (let i = 0; i < phase4; i++) {
    sum = f(sum - input[li]!);
    count--;
    output[oi] = f(sum / count);
    li += stride;
    oi += stride;
  }
}

function jarosz(buf1: Float32Array, rows: number, cols: number): void {
  const buf2 = new Float32Array(buf1.length);
  const windowAlongRows = Math.trunc((cols + 127) / 128);
  const windowAlongCols = Math.trunc((rows + 127) / 128);
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < rows; i++) box1d(buf1, buf2, i * cols, cols, 1, windowAlongRows);
    for (let j = 0; j < cols; j++) box1d(buf2, buf1, j, rows, cols, windowAlongCols);
  }
}

function decimate(buf: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(64 * 64);
  for (let i = 0; i < 64; i++) {
    const si = Math.trunc(((i + 0.5) * rows) / 64);
    for (let j = 0; j < 64; j++) {
      const sj = Math.trunc(((j + 0.5) * cols) / 64);
      out[i * 64 + j] = buf[si * cols + sj]!;
    }
  }
  return out;
}

function quality(a: Float32Array): number {
  let sum = 0;
  const step = (u: number, v: number) => Math.abs(Math.trunc(f(f(f(u - v) * 100) / 255)));
  for (let i = 0; i < 63; i++) for (let j = 0; j < 64; j++) sum += step(a[i * 64 + j]!, a[(i + 1) * 64 + j]!);
  for (let i = 0; i < 64; i++) for (let j = 0; j < 63; j++) sum += step(a[i * 64 + j]!, a[i * 64 + j + 1]!);
  return Math.min(100, Math.trunc(sum / 90));
}

function dctMatrix(): Float32Array {
  const d = new Float32Array(16 * 64);
  const scale = f(Math.sqrt(2 / 64));
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) d[i * 64 + j] = scale * Math.cos((Math.PI / 2 / 64) * (i + 1) * (2 * j + 1));
  }
  return d;
}

/** B = D A D^T, summing over k in increasing order as the reference does. */
function dct(a: Float32Array): Float32Array {
  const d = dctMatrix();
  const t = new Float32Array(16 * 64);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) {
      let s = 0;
      for (let k = 0; k < 64; k++) s = f(s + f(d[i * 64 + k]! * a[k * 64 + j]!));
      t[i * 64 + j] = s;
    }
  }
  const b = new Float32Array(16 * 16);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let s = 0;
      for (let k = 0; k < 64; k++) s = f(s + f(t[i * 64 + k]! * d[j * 64 + k]!));
      b[i * 16 + j] = s;
    }
  }
  return b;
}

/**
 * Torben Mogensen's median as the reference runs it (float32 values, float32 midpoint guesses):
 * written out literally rather than replaced by "sort and take element 127", so the oracle also
 * checks that shortcut in src/hash.
 */
function torbenMedian(m: Float32Array): number {
  const half = (m.length + 1) >> 1;
  let min = m[0]!;
  let max = m[0]!;
  for (const v of m) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  for (;;) {
    const guess = f(f(min + max) / 2);
    let less = 0;
    let greater = 0;
    let equal = 0;
    let maxLtGuess = min;
    let minGtGuess = max;
    for (const v of m) {
      if (v < guess) {
        less++;
        if (v > maxLtGuess) maxLtGuess = v;
      } else if (v > guess) {
        greater++;
        if (v < minGtGuess) minGtGuess = v;
      } else equal++;
    }
    if (less <= half && greater <= half) {
      if (less >= half) return maxLtGuess;
      if (less + equal >= half) return guess;
      return minGtGuess;
    }
    if (less > greater) max = maxLtGuess;
    else min = minGtGuess;
  }
}

function bitsAboveMedian(b: Float32Array): Uint8Array {
  const median = torbenMedian(b);
  return Uint8Array.from(b, (v) => (v > median ? 1 : 0));
}

/** The reference's sign/transpose rules: row i and column j hold DCT frequency i+1, j+1. */
const DIHEDRAL: ReadonlyArray<{ transpose: boolean; negate: (i: number, j: number) => boolean }> = [
  { transpose: false, negate: () => false }, // orig
  { transpose: true, negate: (_i, j) => (j & 1) === 0 }, // rot90
  { transpose: false, negate: (i, j) => ((i + j) & 1) === 1 }, // rot180
  { transpose: true, negate: (i) => (i & 1) === 0 }, // rot270
  { transpose: false, negate: (i) => (i & 1) === 0 }, // flipx
  { transpose: false, negate: (_i, j) => (j & 1) === 0 }, // flipy
  { transpose: true, negate: () => false }, // flipplus1
  { transpose: true, negate: (i, j) => ((i + j) & 1) === 1 }, // flipminus1
];

function transformed(b: Float32Array, t: (typeof DIHEDRAL)[number]): Float32Array {
  const out = new Float32Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      const v = t.negate(i, j) ? -b[i * 16 + j]! : b[i * 16 + j]!;
      out[t.transpose ? j * 16 + i : i * 16 + j] = v;
    }
  }
  return out;
}

function dctOf(img: RgbImage, skipFilterAt64: boolean): { b: Float32Array; quality: number } | undefined {
  const small = reduceTo512(img);
  if (small.width < 5 || small.height < 5) return undefined;
  // Greyness is the decoder's verdict on the whole original, before the 512 reduction.
  const y = isGrey(img) ? lumaOfGrey(small) : luma(small);
  let a: Float32Array;
  // The reference's single-hash path takes an exact 64x64 input as already downsampled.
  if (skipFilterAt64 && small.width === 64 && small.height === 64) a = y;
  else {
    jarosz(y, small.height, small.width);
    a = decimate(y, small.height, small.width);
  }
  return { b: dct(a), quality: quality(a) };
}

export function naivePdqHash(img: RgbImage): NaivePdq {
  const r = dctOf(img, true);
  if (!r) return { bits: new Uint8Array(256), quality: 0 };
  return { bits: bitsAboveMedian(r.b), quality: r.quality };
}

export function naivePdqDihedral(img: RgbImage): NaivePdqDihedral {
  const r = dctOf(img, false);
  if (!r) return { bits: DIHEDRAL.map(() => new Uint8Array(256)), quality: 0 };
  return { bits: DIHEDRAL.map((t) => bitsAboveMedian(transformed(r.b, t))), quality: r.quality };
}

/** 64 hex digits, most significant 16-bit word (bits 255..240) first, as the reference prints. */
export function naiveBitsToHex(bits: Uint8Array): string {
  let hex = '';
  for (let word = 15; word >= 0; word--) {
    let w = 0;
    for (let bit = 0; bit < 16; bit++) w |= bits[word * 16 + bit]! << bit;
    hex += w.toString(16).padStart(4, '0');
  }
  return hex;
}
