/** Paths and CSV rows of the shared PDQ conformance data (../shared/pdq-vectors, never copied in). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PDQ_VECTORS_DIR = fileURLToPath(new URL('../../../shared/pdq-vectors/', import.meta.url));

export interface DecodedVector {
  readonly file: string;
  readonly path: string;
  readonly hash: string;
  readonly quality: number;
  /** orig, rot90, rot180, rot270, flipx, flipy, flipplus1, flipminus1 */
  readonly dihedral: readonly string[];
}

export interface OriginalVector {
  readonly file: string;
  readonly path: string;
  readonly hash: string;
  readonly quality: number;
}

function rows(csv: string, columns: number): string[][] {
  const lines = readFileSync(PDQ_VECTORS_DIR + csv, 'utf8')
    .trim()
    .split('\n');
  const out = lines.slice(1).map((l) => l.trim().split(','));
  for (const r of out) if (r.length !== columns) throw new Error(`${csv}: expected ${columns} columns in ${r.join(',')}`);
  if (out.length === 0) throw new Error(`${csv}: no rows`);
  return out;
}

export function decodedVectors(): DecodedVector[] {
  return dihedralRows('decoded-hashes.csv');
}

/** The generated images (gradients, radial, plasma, symmetric patterns; 5 px to 1500 px) with the reference's hashes. */
export function syntheticVectors(): DecodedVector[] {
  return dihedralRows('synthetic-hashes.csv');
}

function dihedralRows(csv: string): DecodedVector[] {
  return rows(csv, 10).map(([file, hash, quality, ...rest]) => ({
    file: file!,
    path: PDQ_VECTORS_DIR + file!,
    hash: hash!,
    quality: Number(quality),
    dihedral: [hash!, ...rest],
  }));
}

export function originalVectors(): OriginalVector[] {
  return rows('original-hashes.csv', 3).map(([file, hash, quality]) => ({
    file: file!,
    path: PDQ_VECTORS_DIR + file!,
    hash: hash!,
    quality: Number(quality),
  }));
}
