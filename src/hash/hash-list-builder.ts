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
 * Accumulates parsed entries in fixed-size typed-array chunks, interning labels, then packs
 * them into one exact-size array. Peak memory is the chunks plus the final copy, never the
 * text of the file (the parsers stream it).
 */
export class HashListBuilder {
  readonly #hashChunks: Uint16Array[] = [];
  readonly #labelChunks: (Uint32Array | undefined)[] = [];
  readonly #labels = new LabelPoolBuilder();
  #count = 0;
  #anyLabel = false;
  #lowQuality = 0;
  #withQuality = 0;
  skippedOtherTypes = 0;
  lines = 0;

  get count(): number {
    return this.#count;
  }

  /**
   * Appends the 64 hex digits at `text[start..]`; returns false (nothing added) when they are
   * not a hash, so the caller can report the line.
   */
  addHex(text: string, start: number, label?: string, quality?: number): boolean {
    const chunk = this.#count >>> CHUNK_BITS;
    const slot = this.#count & (CHUNK_ENTRIES - 1);
    let hashes = this.#hashChunks[chunk];
    if (!hashes) {
      hashes = new Uint16Array(CHUNK_ENTRIES * 16);
      this.#hashChunks.push(hashes);
      this.#labelChunks.push(undefined);
    }
    if (!decodeHexHash(text, start, hashes, slot * 16)) return false;
    if (label !== undefined && label !== '') {
      let labels = this.#labelChunks[chunk];
      if (!labels) {
        labels = new Uint32Array(CHUNK_ENTRIES);
        this.#labelChunks[chunk] = labels;
      }
      labels[slot] = this.#labels.intern(label);
      this.#anyLabel = true;
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
    const hashes = new Uint16Array(count * 16);
    const labelIds = this.#anyLabel ? new Uint32Array(count) : null;
    for (let c = 0; c < this.#hashChunks.length; c++) {
      const n = Math.min(CHUNK_ENTRIES, count - c * CHUNK_ENTRIES);
      if (n <= 0) break;
      hashes.set(this.#hashChunks[c]!.subarray(0, n * 16), c * CHUNK_ENTRIES * 16);
      const labels = this.#labelChunks[c];
      if (labelIds && labels) labelIds.set(labels.subarray(0, n), c * CHUNK_ENTRIES);
    }
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
