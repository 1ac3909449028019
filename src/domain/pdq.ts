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

/* Value helpers for PdqHash: pure, shared by the hasher, the index, the pipeline and events. */

const HEX_HASH = /^[0-9a-fA-F]{64}$/;

/** Popcount of every 16-bit value: Hamming distance becomes 16 table loads. */
const POPCOUNT16 = (() => {
  const t = new Uint8Array(65536);
  for (let i = 1; i < 65536; i++) t[i] = (i & 1) + t[i >>> 1]!;
  return t;
})();

export function isPdqHex(text: string): boolean {
  return HEX_HASH.test(text);
}

/** Parses 64 hex digits (either case); throws RangeError otherwise. */
export function pdqFromHex(text: string): PdqHash {
  if (!HEX_HASH.test(text)) throw new RangeError(`not a PDQ hash (64 hex digits): ${JSON.stringify(text.slice(0, 80))}`);
  const words = new Uint16Array(16);
  for (let i = 0; i < 16; i++) words[i] = parseInt(text.slice(i * 4, i * 4 + 4), 16);
  return words;
}

export function pdqToHex(hash: PdqHash): string {
  let out = '';
  for (let i = 0; i < 16; i++) out += hash[i]!.toString(16).padStart(4, '0');
  return out;
}

export function hammingDistance(a: PdqHash, b: PdqHash): number {
  let d = 0;
  for (let i = 0; i < 16; i++) d += POPCOUNT16[a[i]! ^ b[i]!]!;
  return d;
}

export function popcount16(word: number): number {
  return POPCOUNT16[word & 0xffff]!;
}
