/**
 * PDQ's downsampling: a tent filter built from two box-filter passes per axis (Jarosz, "Fast
 * Image Convolutions", 2001), then decimation to 64x64 by picking the pixel at each target
 * cell's centre.
 *
 * The reference computes each box filter as a running float32 sum (add the entering sample,
 * subtract the leaving one, divide by the window's current size), so every output depends on
 * the exact rounding history of the sum along its whole row or column. We keep that sum and its
 * order exactly and gain speed elsewhere:
 *  - a running sum is a serial chain of rounded adds, so one row or column at a time is bound by
 *    latency; we run four rows, or eight columns, side by side as independent chains;
 *  - the second pass only produces what decimation reads: the second row pass still runs every
 *    sum (their rounding matters) but stores only the 64 sampled columns, and the second column
 *    pass runs only those 64 columns and stores only the 64 sampled rows;
 *  - division by the window size becomes multiplication by its reciprocal, which is exact here
 *    (see RECIPROCAL).
 */
const f = Math.fround;

/** Window per pass: half of one 64th of the side, rounded up (the reference's formula). */
export function jaroszWindow(side: number): number {
  return Math.trunc((side + 127) / 128);
}

/** Decimation: the source index at the centre of each of the 64 target cells. */
export function fillDecimationIndices(side: number, out: Int32Array): void {
  for (let i = 0; i < 64; i++) out[i] = Math.trunc(((i + 0.5) * side) / 64);
}

/**
 * Sides are at most 512 (larger images are reduced first), so windows are at most 4 and a
 * window holds 1..4 samples. For 1, 2 and 4 the reciprocal is a power of two and the product is
 * exact. For 3, fround(x * (1/3)) equals fround(x / 3) for every float32 x: x/3 is never within
 * 2^-27 (relative) of a float32 rounding midpoint, while the double product is within 2^-52 of
 * x/3 (checked exhaustively over all 2^32 bit patterns; test/hash/pdq-jarosz.test.ts rechecks
 * every mantissa). Larger windows would need a fresh proof, so they are refused.
 */
const RECIPROCAL = [0, 1, 1 / 2, 1 / 3, 1 / 4] as const;
export const PDQ_MAX_WINDOW = 4;

/**
 * The box filter's schedule for a window w over n samples: `lead` samples are summed before the
 * first output; outputs before `grow` only add (window still growing); outputs from
 * `shrinkFrom` on only subtract (window shrinking at the far edge); `inv[o]` is 1/(samples in
 * the window at output o).
 */
interface Schedule {
  readonly lead: number;
  readonly grow: number;
  readonly shrinkFrom: number;
  readonly inv: Float64Array;
}

function schedule(n: number, window: number, inv: Float64Array): Schedule {
  if (window < 1 || window > PDQ_MAX_WINDOW || window > n) {
    throw new RangeError(`PDQ box filter: window ${window} for ${n} samples is outside 1..${PDQ_MAX_WINDOW}`);
  }
  const lead = Math.trunc((window + 2) / 2) - 1;
  const grow = window - lead;
  const shrinkFrom = n - lead;
  for (let o = 0; o < n; o++) {
    const count = o < grow ? lead + o + 1 : o < shrinkFrom ? window : window - (o - shrinkFrom + 1);
    inv[o] = RECIPROCAL[count as 1 | 2 | 3 | 4];
  }
  return { lead, grow, shrinkFrom, inv };
}

/** Scratch for one filter pipeline; reuse it across images to avoid per-frame allocation. */
export interface BoxScratch {
  readonly invRows: Float64Array;
  readonly invCols: Float64Array;
}

export function createBoxScratch(maxSide: number): BoxScratch {
  return { invRows: new Float64Array(maxSide), invCols: new Float64Array(maxSide) };
}

/**
 * Box filter along every row of a rows x cols matrix (row r at input[r*cols]). Without
 * `samples`, out has the same layout; with it, only those 64 output columns are stored, packed
 * (row r, sample s at out[r*64 + s]).
 */
export function boxRows(
  input: Float32Array,
  rows: number,
  cols: number,
  window: number,
  scratch: BoxScratch,
  out: Float32Array,
  samples?: Int32Array,
): void {
  const sch = schedule(cols, window, scratch.invCols);
  let r = 0;
  for (; r + 4 <= rows; r += 4) boxFourRows(input, r, cols, sch, out, samples);
  for (; r < rows; r++) boxOneRow(input, r, cols, sch, out, samples);
}

function boxFourRows(input: Float32Array, r: number, n: number, sch: Schedule, out: Float32Array, samples?: Int32Array): void {
  const i0 = r * n;
  const i1 = i0 + n;
  const i2 = i1 + n;
  const i3 = i2 + n;
  const outStride = samples ? 64 : n;
  const o0 = r * outStride;
  const o1 = o0 + outStride;
  const o2 = o1 + outStride;
  const o3 = o2 + outStride;
  const { lead, grow, shrinkFrom, inv } = sch;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let k = 0; k < lead; k++) {
    s0 = f(s0 + input[i0 + k]!);
    s1 = f(s1 + input[i1 + k]!);
    s2 = f(s2 + input[i2 + k]!);
    s3 = f(s3 + input[i3 + k]!);
  }
  let next = samples ? samples[0]! : 0;
  let s = 0;
  for (let o = 0; o < n; o++) {
    if (o < shrinkFrom) {
      const k = o + lead;
      s0 = f(s0 + input[i0 + k]!);
      s1 = f(s1 + input[i1 + k]!);
      s2 = f(s2 + input[i2 + k]!);
      s3 = f(s3 + input[i3 + k]!);
    }
    if (o >= grow) {
      const k = o - grow;
      s0 = f(s0 - input[i0 + k]!);
      s1 = f(s1 - input[i1 + k]!);
      s2 = f(s2 - input[i2 + k]!);
      s3 = f(s3 - input[i3 + k]!);
    }
    const m = inv[o]!;
    if (!samples) {
      // Float32Array stores round to float32: this is the reference's float `sum / count`.
      out[o0 + o] = s0 * m;
      out[o1 + o] = s1 * m;
      out[o2 + o] = s2 * m;
      out[o3 + o] = s3 * m;
      continue;
    }
    // Fewer than 64 columns: several samples can fall on the same column.
    while (o === next) {
      out[o0 + s] = s0 * m;
      out[o1 + s] = s1 * m;
      out[o2 + s] = s2 * m;
      out[o3 + s] = s3 * m;
      s++;
      next = s < 64 ? samples[s]! : -1;
    }
  }
}

function boxOneRow(input: Float32Array, r: number, n: number, sch: Schedule, out: Float32Array, samples?: Int32Array): void {
  const i0 = r * n;
  const o0 = r * (samples ? 64 : n);
  const { lead, grow, shrinkFrom, inv } = sch;
  let sum = 0;
  for (let k = 0; k < lead; k++) sum = f(sum + input[i0 + k]!);
  let next = samples ? samples[0]! : 0;
  let s = 0;
  for (let o = 0; o < n; o++) {
    if (o < shrinkFrom) sum = f(sum + input[i0 + o + lead]!);
    if (o >= grow) sum = f(sum - input[i0 + o - grow]!);
    if (!samples) {
      out[o0 + o] = sum * inv[o]!;
      continue;
    }
    while (o === next) {
      out[o0 + s] = sum * inv[o]!;
      s++;
      next = s < 64 ? samples[s]! : -1;
    }
  }
}

/**
 * Box filter down every column of a rows x cols matrix. Without `samples`, out has the same
 * layout; with it, only those 64 output rows are stored, packed (sample s at out[s*cols]).
 */
export function boxColumns(
  input: Float32Array,
  rows: number,
  cols: number,
  window: number,
  scratch: BoxScratch,
  out: Float32Array,
  samples?: Int32Array,
): void {
  const sch = schedule(rows, window, scratch.invRows);
  let c = 0;
  for (; c + 8 <= cols; c += 8) boxEightColumns(input, c, rows, cols, sch, out, samples);
  for (; c < cols; c++) boxOneColumn(input, c, rows, cols, sch, out, samples);
}

function boxEightColumns(
  input: Float32Array,
  c: number,
  rows: number,
  cols: number,
  sch: Schedule,
  out: Float32Array,
  samples?: Int32Array,
): void {
  const { lead, grow, shrinkFrom, inv } = sch;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  let s5 = 0;
  let s6 = 0;
  let s7 = 0;
  for (let k = 0; k < lead; k++) {
    const b = k * cols + c;
    s0 = f(s0 + input[b]!);
    s1 = f(s1 + input[b + 1]!);
    s2 = f(s2 + input[b + 2]!);
    s3 = f(s3 + input[b + 3]!);
    s4 = f(s4 + input[b + 4]!);
    s5 = f(s5 + input[b + 5]!);
    s6 = f(s6 + input[b + 6]!);
    s7 = f(s7 + input[b + 7]!);
  }
  let next = samples ? samples[0]! : 0;
  let s = 0;
  for (let o = 0; o < rows; o++) {
    if (o < shrinkFrom) {
      const b = (o + lead) * cols + c;
      s0 = f(s0 + input[b]!);
      s1 = f(s1 + input[b + 1]!);
      s2 = f(s2 + input[b + 2]!);
      s3 = f(s3 + input[b + 3]!);
      s4 = f(s4 + input[b + 4]!);
      s5 = f(s5 + input[b + 5]!);
      s6 = f(s6 + input[b + 6]!);
      s7 = f(s7 + input[b + 7]!);
    }
    if (o >= grow) {
      const b = (o - grow) * cols + c;
      s0 = f(s0 - input[b]!);
      s1 = f(s1 - input[b + 1]!);
      s2 = f(s2 - input[b + 2]!);
      s3 = f(s3 - input[b + 3]!);
      s4 = f(s4 - input[b + 4]!);
      s5 = f(s5 - input[b + 5]!);
      s6 = f(s6 - input[b + 6]!);
      s7 = f(s7 - input[b + 7]!);
    }
    if (samples && o !== next) continue;
    const m = inv[o]!;
    do {
      const b = (samples ? s : o) * cols + c;
      out[b] = s0 * m;
      out[b + 1] = s1 * m;
      out[b + 2] = s2 * m;
      out[b + 3] = s3 * m;
      out[b + 4] = s4 * m;
      out[b + 5] = s5 * m;
      out[b + 6] = s6 * m;
      out[b + 7] = s7 * m;
      if (!samples) break;
      s++;
      next = s < 64 ? samples[s]! : -1;
    } while (o === next);
  }
}

function boxOneColumn(
  input: Float32Array,
  c: number,
  rows: number,
  cols: number,
  sch: Schedule,
  out: Float32Array,
  samples?: Int32Array,
): void {
  const { lead, grow, shrinkFrom, inv } = sch;
  let sum = 0;
  for (let k = 0; k < lead; k++) sum = f(sum + input[k * cols + c]!);
  let next = samples ? samples[0]! : 0;
  let s = 0;
  for (let o = 0; o < rows; o++) {
    if (o < shrinkFrom) sum = f(sum + input[(o + lead) * cols + c]!);
    if (o >= grow) sum = f(sum - input[(o - grow) * cols + c]!);
    if (!samples) {
      out[o * cols + c] = sum * inv[o]!;
      continue;
    }
    while (o === next) {
      out[s * cols + c] = sum * inv[o]!;
      s++;
      next = s < 64 ? samples[s]! : -1;
    }
  }
}
