/**
 * PDQ's 2-D DCT: only frequencies 1..16 of a 64-point DCT-II along each axis are kept, so the
 * transform is two small matrix products B = D A D^T with a 16x64 matrix D. Matching the
 * reference bit for bit means float32 arithmetic with every product and every partial sum
 * rounded (Math.fround), and k summed in increasing order.
 */
const f = Math.fround;

/**
 * D[i][j] = sqrt(2/64) * cos(pi/128 * (i+1) * (2j+1)), row-major 16x64. The reference keeps the
 * scale factor in a float but evaluates the product in double before storing it as a float.
 */
export const PDQ_DCT_MATRIX: Float32Array = (() => {
  const d = new Float32Array(16 * 64);
  const scale = f(Math.sqrt(2 / 64));
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) d[i * 64 + j] = scale * Math.cos((Math.PI / 2 / 64) * (i + 1) * (2 * j + 1));
  }
  return d;
})();

/**
 * a: 64x64 input; t: 16x64 scratch; b: 16x16 output (all row-major). The first product runs
 * k in the middle loop so the innermost loop walks rows of A and T contiguously; each T[i][j]
 * still accumulates its 64 terms in increasing k, which is all float32 exactness needs.
 */
export function dct64To16(a: Float32Array, t: Float32Array, b: Float32Array): void {
  const d = PDQ_DCT_MATRIX;
  t.fill(0);
  for (let i = 0; i < 16; i++) {
    const ti = i * 64;
    for (let k = 0; k < 64; k++) {
      const dik = d[ti + k]!;
      const ak = k * 64;
      for (let j = 0; j < 64; j++) t[ti + j] = f(t[ti + j]! + f(dik * a[ak + j]!));
    }
  }
  for (let i = 0; i < 16; i++) {
    const ti = i * 64;
    for (let j = 0; j < 16; j++) {
      const dj = j * 64;
      let sum = 0;
      for (let k = 0; k < 64; k++) sum = f(sum + f(t[ti + k]! * d[dj + k]!));
      b[i * 16 + j] = sum;
    }
  }
}
