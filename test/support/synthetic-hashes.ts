/**
 * Seeded synthetic PDQ hashes for tests and benchmarks: uniformly random ones, clusters around
 * a few centres, and near-duplicates at a chosen distance. Not for screening: these match
 * nothing real.
 */

/** mulberry32: small, fast, and the same sequence on every machine for a seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomHashes(count: number, rand: () => number, out = new Uint16Array(count * 16)): Uint16Array {
  for (let i = 0; i < count * 16; i++) out[i] = (rand() * 65536) >>> 0;
  return out;
}

/** Copies `source` (16 words) into out[offset..] with exactly `bits` distinct random bits flipped. */
export function flipBits(
  source: ArrayLike<number>,
  sourceOffset: number,
  bits: number,
  rand: () => number,
  out: Uint16Array,
  offset: number,
): void {
  for (let w = 0; w < 16; w++) out[offset + w] = source[sourceOffset + w]!;
  const chosen = new Set<number>();
  while (chosen.size < Math.min(bits, 256)) chosen.add((rand() * 256) >>> 0);
  for (const b of chosen) out[offset + (b >>> 4)]! ^= 1 << (15 - (b & 15));
}

/** Hashes scattered around `centres` random centres, each within `spread` bits of its centre. */
export function clusteredHashes(count: number, centres: number, spread: number, rand: () => number): Uint16Array {
  const c = randomHashes(centres, rand);
  const out = new Uint16Array(count * 16);
  for (let i = 0; i < count; i++) flipBits(c, ((rand() * centres) >>> 0) * 16, (rand() * (spread + 1)) >>> 0, rand, out, i * 16);
  return out;
}

/** One 16-word hash at `bits` flips from entry `entry` of `hashes`. */
export function nearDuplicate(hashes: Uint16Array, entry: number, bits: number, rand: () => number): Uint16Array {
  const out = new Uint16Array(16);
  flipBits(hashes, entry * 16, bits, rand, out, 0);
  return out;
}
