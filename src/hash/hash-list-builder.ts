import type { HashListData, HashListFormat, HashListStats } from './hash-list.js';
import { LabelPoolBuilder } from './label-pool.js';

/** Entries per storage chunk: growth never copies what was already parsed. */
const CHUNK_BITS = 16;
const CHUNK_ENTRIES = 1 << CHUNK_BITS;

/** Hex digit value by char code, -1 for anything else (both cases accepted). */
const HEX_VALUE = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i++) t[48 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[65 + i] = 10 + i;
    t[97 + i] = 10 + i;
  }
  return t;
})();

/**
 * Decodes 64 hex digits of `text` starting at `start` into `out[offset..offset+16)` without
 * slicing strings: millions of lines go through here. Returns false (out partly written) when
 * any of the 64 characters is not a hex digit or the text is too short.
 */
export function decodeHexHash(text: string, start: number, out: Uint16Array, offset: number): boolean {
  if (start + 64 > text.length) return false;
  for (let w = 0; w < 16; w++) {
    let word = 0;
    for (let k = 0; k < 4; k++) {
      const c = text.charCodeAt(start + w * 4 + k);
      const v = c < 128 ? HEX_VALUE[c]! : -1;
      if (v < 0) return false;
      word = (word << 4) | v;
    }
    out[offset + w] = word;
  }
  return true;
}

/**
 * Accumulates parsed entries in typed arrays, interning labels, never holding the file's text
 * (the parsers stream it). When the caller knows the byte size, a head array for the most
 * entries that size can hold is reserved up front; a plain hash list fills it exactly and is
 * returned without a copy (ten million hashes: 320 MB once, not twice). Otherwise entries go
 * to fixed-size chunks (growth never copies) packed into one array at the end.
 */
export class HashListBuilder {
  #head: Uint16Array;
  #headLabels: Uint32Array | undefined;
  readonly #headSize: number;
  readonly #hashChunks: Uint16Array[] = [];
  readonly #labelChunks: (Uint32Array | undefined)[] = [];
  readonly #labels = new LabelPoolBuilder();
  #count = 0;
  #anyLabel = false;
  #lowQuality = 0;
  #withQuality = 0;
  skippedOtherTypes = 0;
  lines = 0;

  /** `reserve`: entries to allocate up front (an upper bound from the input's size), or 0. */
  constructor(reserve = 0) {
    this.#headSize = Math.max(0, Math.floor(reserve));
    this.#head = new Uint16Array(this.#headSize * 16);
  }

  get count(): number {
    return this.#count;
  }

  /**
   * Appends the 64 hex digits at `text[start..]`; returns false (nothing added) when they are
   * not a hash, so the caller can report the line.
   */
  addHex(text: string, start: number, label?: string, quality?: number): boolean {
    const hasLabel = label !== undefined && label !== '';
    if (this.#count < this.#headSize) {
      if (!decodeHexHash(text, start, this.#head, this.#count * 16)) return false;
      if (hasLabel) {
        this.#headLabels ??= new Uint32Array(this.#headSize);
        this.#headLabels[this.#count] = this.#labels.intern(label);
        this.#anyLabel = true;
      }
    } else {
      const beyond = this.#count - this.#headSize;
      const chunk = beyond >>> CHUNK_BITS;
      const slot = beyond & (CHUNK_ENTRIES - 1);
      let hashes = this.#hashChunks[chunk];
      if (!hashes) {
        hashes = new Uint16Array(CHUNK_ENTRIES * 16);
        this.#hashChunks.push(hashes);
        this.#labelChunks.push(undefined);
      }
      if (!decodeHexHash(text, start, hashes, slot * 16)) return false;
      if (hasLabel) {
        let labels = this.#labelChunks[chunk];
        if (!labels) {
          labels = new Uint32Array(CHUNK_ENTRIES);
          this.#labelChunks[chunk] = labels;
        }
        labels[slot] = this.#labels.intern(label);
        this.#anyLabel = true;
      }
    }
    if (quality !== undefined) {
      this.#withQuality++;
      if (quality < 50) this.#lowQuality++;
    }
    this.#count++;
    return true;
  }

  finish(format: HashListFormat): HashListData {
    const count = this.#count;
    const inHead = Math.min(count, this.#headSize);
    let hashes: Uint16Array;
    let labelIds: Uint32Array | null = null;
    // A head at most 1/8 unused is kept as a view; beyond that, copying frees more than it costs.
    if (count <= this.#headSize && this.#headSize - count <= this.#headSize / 8) {
      hashes = this.#head.subarray(0, count * 16);
      if (this.#anyLabel) labelIds = (this.#headLabels ?? new Uint32Array(count)).subarray(0, count);
    } else {
      hashes = new Uint16Array(count * 16);
      hashes.set(this.#head.subarray(0, inHead * 16));
      if (this.#anyLabel) {
        labelIds = new Uint32Array(count);
        if (this.#headLabels) labelIds.set(this.#headLabels.subarray(0, inHead));
      }
      for (let c = 0; c < this.#hashChunks.length; c++) {
        const n = Math.min(CHUNK_ENTRIES, count - inHead - c * CHUNK_ENTRIES);
        if (n <= 0) break;
        const at = inHead + c * CHUNK_ENTRIES;
        hashes.set(this.#hashChunks[c]!.subarray(0, n * 16), at * 16);
        const labels = this.#labelChunks[c];
        if (labelIds && labels) labelIds.set(labels.subarray(0, n), at);
      }
    }
    this.#head = new Uint16Array(0);
    this.#headLabels = undefined;
    this.#hashChunks.length = 0;
    this.#labelChunks.length = 0;
    const stats: HashListStats = {
      lines: this.lines,
      entries: count,
      skippedOtherTypes: this.skippedOtherTypes,
      lowQuality: this.#lowQuality,
      withQuality: this.#withQuality,
    };
    return { count, hashes, labelIds, labels: this.#labels.finish(), format, stats };
  }
}
