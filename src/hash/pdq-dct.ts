/**
 * PDQ's 2-D DCT keeps only frequencies 1..16 of a 64-point DCT-II along each axis, so the
 * transform is two small matrix products B = D A D^T with the 16x64 matrix D below (computed
 * in pdq-wasm.ts's dct kernel, float32, k summed in increasing order like the reference).
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
