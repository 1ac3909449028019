/**
 * Conformance with Meta's C++ reference on its published test images (../shared/pdq-vectors):
 * identical pixels must give identical bits; JPEGs decoded by another decoder must land within
 * Hamming distance 10 when quality >= 80 (the published rule).
 */
import { describe, expect, it } from 'vitest';
import { DIHEDRAL_ORDER, hammingDistance, pdqFromHex, pdqToHex } from '../../src/domain/pdq.js';
import { createPdqHasher } from '../../src/hash/pdq-hasher.js';
import { readRgbImage } from '../../src/worker/sampler/image-file.js';
import { decodedVectors, originalVectors, syntheticVectors, type DecodedVector } from './pdq-vectors.js';

const hasher = createPdqHasher();

async function expectBitExact(v: DecodedVector): Promise<void> {
  const img = await readRgbImage(v.path);
  const single = hasher.hash(img);
  expect(pdqToHex(single.hash)).toBe(v.hash);
  expect(single.quality).toBe(v.quality);

  const dihedral = hasher.hashDihedral(img);
  expect(DIHEDRAL_ORDER.map((name) => pdqToHex(dihedral.hashes[name]))).toEqual(v.dihedral);
  expect(dihedral.quality).toBe(v.quality);
}

describe('PDQ on the reference-decoded PNGs (bit-exact)', () => {
  const vectors = decodedVectors();

  it('has the full published set', () => {
    expect(vectors.length).toBe(31);
  });

  it.each(vectors.map((v) => [v.file, v] as const))('%s: hash, quality and all 8 dihedral hashes', async (_file, v) => {
    await expectBitExact(v);
  });
});

describe('PDQ on the generated images (bit-exact; small symmetric and all-grey ones are the hard cases)', () => {
  const vectors = syntheticVectors();

  it('has the full generated set', () => {
    expect(vectors.length).toBe(35);
  });

  it.each(vectors.map((v) => [v.file, v] as const))('%s: hash, quality and all 8 dihedral hashes', async (_file, v) => {
    await expectBitExact(v);
  });
});

describe('PDQ on the original files (conformance rule: distance <= 10 when quality >= 80)', () => {
  const vectors = originalVectors();

  it.each(vectors.map((v) => [v.file, v] as const))('%s', async (_file, v) => {
    const img = await readRgbImage(v.path);
    const r = hasher.hash(img);
    if (v.quality >= 80) {
      expect(r.quality).toBeGreaterThanOrEqual(80);
      expect(hammingDistance(r.hash, pdqFromHex(v.hash))).toBeLessThanOrEqual(10);
    } else {
      // Low-quality references are exempt from the distance rule; quality must still agree they are poor.
      expect(r.quality).toBeLessThan(80);
    }
  });
});
