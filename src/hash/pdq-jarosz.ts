/**
 * PDQ's downsampling plan: a tent filter built from two box-filter passes per axis (Jarosz,
 * "Fast Image Convolutions", 2001), then decimation to 64x64 by picking the pixel at each
 * target cell's centre. The passes themselves run in pdq-wasm.ts; this file holds the
 * reference's window arithmetic they follow.
 */

/** Window per pass: half of one 64th of the side, rounded up (the reference's formula). */
export function jaroszWindow(side: number): number {
  return Math.trunc((side + 127) / 128);
}

/** Decimation: the source index at the centre of each of the 64 target cells. */
export function fillDecimationIndices(side: number, out: Int32Array): void {
  for (let i = 0; i < 64; i++) out[i] = Math.trunc(((i + 0.5) * side) / 64);
}

/**
 * The reference's running box sum over n samples with window w, as a schedule: `lead` samples
 * are summed before the first output; outputs before `grow` only add (the window is still
 * growing at the near edge); outputs from `shrinkFrom` on only subtract (it shrinks at the far
 * edge); in between each output adds the entering sample, then subtracts the leaving one.
 */
export interface BoxSchedule {
  readonly lead: number;
  readonly grow: number;
  readonly shrinkFrom: number;
}

/** Also fills counts[o] with the number of samples in the window at output o (the divisor). */
export function boxSchedule(n: number, window: number, counts: Float32Array): BoxSchedule {
  if (window < 1 || window > n) throw new RangeError(`PDQ box filter: window ${window} does not fit ${n} samples`);
  const lead = Math.trunc((window + 2) / 2) - 1;
  const grow = window - lead;
  const shrinkFrom = n - lead;
  for (let o = 0; o < n; o++) {
    counts[o] = o < grow ? lead + o + 1 : o < shrinkFrom ? window : window - (o - shrinkFrom + 1);
  }
  return { lead, grow, shrinkFrom };
}
