/**
 * Entry labels without a JS string per entry. Labels are UTF-8 bytes in one pool with an
 * offset table; repeated labels (a list where every entry says "series A") are interned to
 * one id through a bounded cache. Lists where every entry has its own label (a descriptor id
 * per hash) still cost only their bytes plus 4 bytes of offset, not ~80 bytes of heap string
 * and map entry each.
 */
export interface LabelTable {
  /** Number of distinct stored labels; ids are 1..size. */
  readonly size: number;
  readonly bytes: number;
  get(id: number): string | undefined;
}

/** Distinct recent labels remembered for interning; beyond this, repeats may be stored twice. */
const INTERN_CACHE_MAX = 1 << 16;

export class LabelPoolBuilder {
  #pool = new Uint8Array(1 << 12);
  #used = 0;
  /** ends[i] = end offset of label id i+1 in the pool. */
  #ends = new Uint32Array(1 << 8);
  #size = 0;
  #cache = new Map<string, number>();
  readonly #encoder = new TextEncoder();

  /** Returns the label's id (1-based); the same text returns the same id while cached. */
  intern(label: string): number {
    const cached = this.#cache.get(label);
    if (cached !== undefined) return cached;
    const need = label.length * 3;
    if (this.#used + need > this.#pool.length) this.#pool = grow(this.#pool, this.#used + need);
    const { written } = this.#encoder.encodeInto(label, this.#pool.subarray(this.#used));
    this.#used += written;
    if (this.#size === this.#ends.length) this.#ends = grow(this.#ends, this.#size + 1);
    this.#ends[this.#size++] = this.#used;
    if (this.#cache.size >= INTERN_CACHE_MAX) this.#cache.clear();
    this.#cache.set(label, this.#size);
    return this.#size;
  }

  finish(): LabelTable {
    return new PooledLabels(this.#pool.slice(0, this.#used), this.#ends.slice(0, this.#size));
  }
}

class PooledLabels implements LabelTable {
  readonly #decoder = new TextDecoder();
  constructor(
    readonly pool: Uint8Array,
    readonly ends: Uint32Array,
  ) {}

  get size(): number {
    return this.ends.length;
  }

  get bytes(): number {
    return this.pool.byteLength + this.ends.byteLength;
  }

  get(id: number): string | undefined {
    if (!Number.isInteger(id) || id < 1 || id > this.ends.length) return undefined;
    const start = id === 1 ? 0 : this.ends[id - 2]!;
    return this.#decoder.decode(this.pool.subarray(start, this.ends[id - 1]));
  }
}

function grow<T extends Uint8Array | Uint32Array>(a: T, min: number): T {
  let n = a.length * 2;
  while (n < min) n *= 2;
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}
