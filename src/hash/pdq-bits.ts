/**
 * From the 16x16 DCT to hash bits, and the seven other dihedral hashes derived from the same
 * DCT. Row i / column j of the DCT hold vertical / horizontal frequency i+1 / j+1, so mirroring
 * the image along an axis negates the odd frequencies (even indices) along it, and a
 * transposition of the image transposes the DCT. That is why all eight hashes cost one DCT.
 */
import type { DihedralName, PdqHash } from '../domain/pdq.js';

export interface DihedralTransform {
  readonly name: DihedralName;
  /** The output is the transposed DCT. */
  readonly transpose: boolean;
  /** Mask bit number (i&1) | ((j&1) << 1) set: negate the entries whose row/column parity is that class. */
  readonly negateMask: number;
}

// Parity classes: 0 = (even i, even j), 1 = (odd i, even j), 2 = (even i, odd j), 3 = (odd, odd).
const EVEN_I = (1 << 0) | (1 << 2);
const EVEN_J = (1 << 0) | (1 << 1);
const MIXED = (1 << 1) | (1 << 2);

/** In the reference's order; the sign rules are the reference's, written as parity masks. */
export const DIHEDRAL_TRANSFORMS: readonly DihedralTransform[] = [
  { name: 'orig', transpose: false, negateMask: 0 },
  { name: 'rot90', transpose: true, negateMask: EVEN_J },
  { name: 'rot180', transpose: false, negateMask: MIXED },
  { name: 'rot270', transpose: true, negateMask: EVEN_I },
  { name: 'flipx', transpose: false, negateMask: EVEN_I },
  { name: 'flipy', transpose: false, negateMask: EVEN_J },
  { name: 'flipplus1', transpose: true, negateMask: 0 },
  { name: 'flipminus1', transpose: true, negateMask: MIXED },
];

/** The reference's Hash256 has bit k = i*16+j in word k>>4, and prints word 15 first. */
export function bitsAboveMedian(dct: Float32Array, sortScratch: Float32Array): PdqHash {
  // Torben's method in the reference returns the 128th smallest value (the lower median).
  sortScratch.set(dct);
  sortScratch.sort();
  const median = sortScratch[127]!;
  const hash = new Uint16Array(16);
  for (let k = 0; k < 256; k++) {
    if (dct[k]! > median) {
      const w = 15 - (k >>> 4);
      hash[w] = hash[w]! | (1 << (k & 15));
    }
  }
  return hash;
}

/** out = the DCT of the transformed image, computed from the original's DCT. */
export function applyDihedral(dct: Float32Array, t: DihedralTransform, out: Float32Array): void {
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      const v = dct[i * 16 + j]!;
      const negate = (t.negateMask >>> ((i & 1) | ((j & 1) << 1))) & 1;
      out[t.transpose ? j * 16 + i : i * 16 + j] = negate ? -v : v;
    }
  }
}
