/**
 * Known-video lists in Meta's vPDQ format: one line per sampled frame,
 * `frameNumber,quality,pdqHash,timestampSeconds` (vpdq/cpp/vpdq/cpp/io/vpdqio.cpp in
 * ThreatExchange: 64-hex hash, timestamp printed with 3 decimals). One file is one video; a
 * list is one file or a directory of them (`*.txt`, `*.vpdq`), the video id being the file name
 * without its extension. A malformed line refuses the whole list with its file and line.
 *
 * What matching needs is kept: vPDQ compares videos as bags of distinct frame hashes of quality
 * >= 50, so a video's frames below that are dropped at load and repeated hashes kept once (with
 * the earliest timestamp: where that picture first appears in the known video).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { HashListError } from '../domain/errors.js';
import { pdqToHex } from '../domain/pdq.js';
import { decodeHexHash } from './hash-list-builder.js';
import type { HashListData, KnownVideo, ParsedHashList } from './hash-list.js';
import { LabelPoolBuilder } from './label-pool.js';
import { forEachLine, type ByteChunks } from './line-reader.js';

/** vPDQ's quality filter F (the reference's default): frames below it are never compared. */
export const VPDQ_MIN_QUALITY = 50;

/** One video's frames as the file lists them. */
export interface VpdqFrames {
  readonly count: number;
  readonly frameNumbers: Uint32Array;
  readonly qualities: Uint8Array;
  /** count * 16 words. */
  readonly hashes: Uint16Array;
  readonly timestamps: Float64Array;
}

const VIDEO_EXTENSIONS = new Set(['.txt', '.vpdq']);
const INTEGER = /^\d{1,10}$/;
const SECONDS = /^\d{1,9}(\.\d{1,9})?$/;

/** Parses one vPDQ file; any line that is not `frame,quality,hash,seconds` refuses it. */
export async function parseVpdqFrames(chunks: ByteChunks, file: string): Promise<VpdqFrames> {
  let frameNumbers = new Uint32Array(1024);
  let qualities = new Uint8Array(1024);
  let hashes = new Uint16Array(1024 * 16);
  let timestamps = new Float64Array(1024);
  let count = 0;
  await forEachLine(chunks, file, (line, lineNo) => {
    if (line.trim() === '') return;
    const fields = line.split(',');
    const bad = (why: string): never => {
      const shown = line.length > 120 ? `${line.slice(0, 120)}...` : line;
      throw new HashListError(
        `vPDQ line must be frameNumber,quality,pdqHash,timestampSeconds: ${why}; got ${JSON.stringify(shown)}`,
        file,
        lineNo,
      );
    };
    if (fields.length !== 4) bad(`${fields.length} fields`);
    const [frame, quality, hash, seconds] = fields.map((f) => f.trim()) as [string, string, string, string];
    if (!INTEGER.test(frame) || Number(frame) > 0xffffffff) bad('frame number is not a whole number');
    if (!INTEGER.test(quality) || Number(quality) > 100) bad('quality is not a whole number 0..100');
    if (!SECONDS.test(seconds)) bad('timestamp is not a number of seconds');
    if (count === frameNumbers.length) {
      frameNumbers = grow(frameNumbers);
      qualities = grow(qualities);
      hashes = grow(hashes);
      timestamps = grow(timestamps);
    }
    if (hash.length !== 64 || !decodeHexHash(hash, 0, hashes, count * 16)) bad('the hash is not 64 hex digits');
    frameNumbers[count] = Number(frame);
    qualities[count] = Number(quality);
    timestamps[count] = Number(seconds);
    count++;
  });
  if (count === 0) throw new HashListError('empty vPDQ file: a known video needs at least one frame', file);
  return {
    count,
    frameNumbers: frameNumbers.slice(0, count),
    qualities: qualities.slice(0, count),
    hashes: hashes.slice(0, count * 16),
    timestamps: timestamps.slice(0, count),
  };
}

/** The line `streamscreen vpdq` prints for a frame, in the reference's format. */
export function formatVpdqLine(frameNumber: number, quality: number, hash: Uint16Array, seconds: number): string {
  return `${frameNumber},${quality},${pdqToHex(hash)},${seconds.toFixed(3)}`;
}

function grow<T extends Uint32Array | Uint8Array | Uint16Array | Float64Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}

/**
 * A list of known videos as the index takes it: one entry per distinct frame hash of quality
 * >= VPDQ_MIN_QUALITY per video, each pointing at its video and its first timestamp.
 */
export function buildVideoList(videos: ReadonlyArray<{ readonly id: string; readonly frames: VpdqFrames }>, lines: number): HashListData {
  let total = 0;
  for (const v of videos) total += v.frames.count;
  const hashes = new Uint16Array(total * 16);
  const videoOf = new Uint32Array(total);
  const timestamps = new Float32Array(total);
  const known: KnownVideo[] = [];
  let n = 0;
  let lowQuality = 0;
  videos.forEach((v, vi) => {
    const f = v.frames;
    // Earliest first, so a repeated picture keeps the time it first appears.
    const order = Array.from({ length: f.count }, (_, i) => i).sort((a, b) => f.timestamps[a]! - f.timestamps[b]! || a - b);
    const seen = new Set<string>();
    const kept: number[] = [];
    for (const i of order) {
      if (f.qualities[i]! < VPDQ_MIN_QUALITY) {
        lowQuality++;
        continue;
      }
      const words = f.hashes.subarray(i * 16, i * 16 + 16);
      const key = pdqToHex(words);
      if (seen.has(key)) continue;
      seen.add(key);
      hashes.set(words, n * 16);
      videoOf[n] = vi;
      timestamps[n] = f.timestamps[i]!;
      kept.push(f.timestamps[i]!);
      n++;
    }
    const all = Array.from(f.timestamps).sort((a, b) => a - b);
    const gaps = all.slice(1).map((t, i) => t - all[i]!);
    gaps.sort((a, b) => a - b);
    known.push({
      id: v.id,
      frames: kept.length,
      duration: all[all.length - 1]! - all[0]!,
      step: gaps.length ? gaps[gaps.length >> 1]! : 1,
    });
  });
  return {
    count: n,
    hashes: hashes.slice(0, n * 16),
    labelIds: null,
    labels: new LabelPoolBuilder().finish(),
    format: 'vpdq',
    stats: { lines, entries: n, skippedOtherTypes: 0, lowQuality, withQuality: n + lowQuality },
    videos: { videoOf: videoOf.slice(0, n), timestamps: timestamps.slice(0, n), known },
  };
}

/** Video id from a file name: the name without its extension. */
export function videoIdFromFile(file: string): string {
  return basename(file, extname(file));
}

/**
 * Parses a vPDQ list from a file (one video) or a directory of them (sorted by name). The
 * SHA-256 covers every file's name and bytes in that order, so a changed, added or removed
 * video is a new version.
 */
export async function parseVpdqPath(path: string, videoId?: string): Promise<ParsedHashList> {
  const info = await stat(path);
  const files = info.isDirectory()
    ? (await readdir(path))
        .filter((f) => VIDEO_EXTENSIONS.has(extname(f).toLowerCase()))
        .sort()
        .map((f) => join(path, f))
    : [path];
  if (files.length === 0) throw new HashListError('no vPDQ files (*.txt, *.vpdq) in the directory', path);
  const digest = createHash('sha256');
  let bytes = 0;
  let lines = 0;
  const videos: Array<{ id: string; frames: VpdqFrames }> = [];
  for (const file of files) {
    if (info.isDirectory()) digest.update(`${basename(file)}\n`);
    const chunks = (async function* () {
      for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
        const b = chunk as Buffer;
        digest.update(b);
        bytes += b.byteLength;
        yield new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      }
    })();
    const frames = await parseVpdqFrames(chunks, file);
    lines += frames.count;
    videos.push({ id: !info.isDirectory() && videoId ? videoId : videoIdFromFile(file), frames });
  }
  return { data: buildVideoList(videos, lines), sha256: digest.digest('hex'), bytes };
}

/** One video from a stream of bytes (an Object Store download): its id is given. */
export async function parseVpdqChunks(chunks: ByteChunks, file: string, videoId: string): Promise<ParsedHashList> {
  const digest = createHash('sha256');
  let bytes = 0;
  const source = (async function* () {
    for await (const chunk of chunks) {
      digest.update(chunk);
      bytes += chunk.byteLength;
      yield chunk;
    }
  })();
  const frames = await parseVpdqFrames(source, file);
  return { data: buildVideoList([{ id: videoId, frames }], frames.count), sha256: digest.digest('hex'), bytes };
}
