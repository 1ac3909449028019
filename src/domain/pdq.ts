/**
 * A 256-bit PDQ hash as 16 words of 16 bits, most significant word first: the same order as
 * the reference's 64-digit hex form, so word i is hex digits [4i, 4i+4).
 */
export type PdqHash = Uint16Array;

export interface PdqResult {
  readonly hash: PdqHash;
  /** 0..100; the reference says below 50 is too unreliable to match on. */
  readonly quality: number;
}

/** The 8 dihedral hashes, in the reference's order. */
export const DIHEDRAL_ORDER = ['orig', 'rot90', 'rot180', 'rot270', 'flipx', 'flipy', 'flipplus1', 'flipminus1'] as const;
export type DihedralName = (typeof DIHEDRAL_ORDER)[number];

export interface PdqDihedralResult {
  readonly hashes: Readonly<Record<DihedralName, PdqHash>>;
  readonly quality: number;
}
