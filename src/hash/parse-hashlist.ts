import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { HashListError } from '../domain/errors.js';
import type { HashListFormat, ParsedHashList } from './hash-list.js';
import type { ByteChunks } from './line-reader.js';
import { parseCsvHashList } from './parse-csv.js';
import { parseTextHashList } from './parse-text.js';
import { parseVpdqChunks, parseVpdqPath, videoIdFromFile } from './parse-vpdq.js';

export type { ParsedHashList };

export interface ParseOptions {
  /** Skip detection. Otherwise `.csv` means CSV, `.txt`/`.tsv`/`.hashes`/`.pdq` text, else sniffed. */
  readonly format?: HashListFormat;
  /** The input's size when known: the hash array is then allocated once, at its final size. */
  readonly expectedBytes?: number;
  /** vpdq only: the video id of a single-video input (default: the file name without extension). */
  readonly videoId?: string;
}

/** Every entry takes a line of at least 64 hex digits and a newline (the last may lack one). */
function entryBound(bytes: number | undefined): number {
  return bytes === undefined || !(bytes > 0) ? 0 : Math.floor((bytes + 1) / 65);
}

const TEXT_EXTENSIONS = new Set(['.txt', '.tsv', '.hashes', '.pdq']);
const TEXT_FIRST_LINE = /^[ \t]*[0-9a-fA-F]{64}([ \t]*$|\t)/;

/**
 * Parses a list from a byte stream, computing its SHA-256 over the same bytes in the same
 * pass (Object Store downloads are verified without holding the file in memory).
 */
export async function parseHashList(chunks: ByteChunks, file: string, options: ParseOptions = {}): Promise<ParsedHashList> {
  // One known video per stream of bytes (an Object Store object); its id is the object's.
  if (options.format === 'vpdq') return parseVpdqChunks(chunks, file, options.videoId ?? videoIdFromFile(file));
  const digest = createHash('sha256');
  let bytes = 0;
  const source = (async function* () {
    for await (const chunk of chunks) {
      digest.update(chunk);
      bytes += chunk.byteLength;
      yield chunk;
    }
  })();
  const { format, stream } = await chooseFormat(source, file, options.format);
  const reserve = entryBound(options.expectedBytes);
  const data = format === 'csv' ? await parseCsvHashList(stream, file, reserve) : await parseTextHashList(stream, file, reserve);
  return { data, sha256: digest.digest('hex'), bytes };
}

export async function parseHashListFile(path: string, options: ParseOptions = {}): Promise<ParsedHashList> {
  try {
    if (options.format === 'vpdq') return await parseVpdqPath(path, options.videoId);
    const { size } = await stat(path);
    return await parseHashList(createReadStream(path, { highWaterMark: 1 << 20 }), path, { expectedBytes: size, ...options });
  } catch (err) {
    if (err instanceof HashListError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    // A missing or unreadable file may appear on the next reload (a deploy still copying it).
    throw new HashListError(`cannot read: ${(err as Error).message}`, path, undefined, {
      cause: err,
      retryable: code === 'ENOENT' || code === 'EACCES',
    });
  }
}

/** Decides the format from the name, else from the first significant line of the first chunk(s). */
async function chooseFormat(
  source: AsyncGenerator<Uint8Array>,
  file: string,
  forced: HashListFormat | undefined,
): Promise<{ format: HashListFormat; stream: AsyncIterable<Uint8Array> }> {
  const ext = extname(file).toLowerCase();
  const byName: HashListFormat | undefined = forced ?? (ext === '.csv' ? 'csv' : TEXT_EXTENSIONS.has(ext) ? 'text' : undefined);
  if (byName) return { format: byName, stream: source };
  const head: Uint8Array[] = [];
  let sample = '';
  let done = false;
  // Enough text to see the first significant line; lists open with at most a few comment lines.
  while (!done && sample.length < 64 * 1024 && !firstSignificantLine(sample, false)) {
    const next = await source.next();
    if (next.done) done = true;
    else {
      head.push(next.value);
      sample += new TextDecoder().decode(next.value.subarray(0, 64 * 1024));
    }
  }
  const first = firstSignificantLine(sample, true) ?? '';
  const format: HashListFormat = first === '' || TEXT_FIRST_LINE.test(first) ? 'text' : 'csv';
  const stream = (async function* () {
    yield* head;
    if (!done) yield* source;
  })();
  return { format, stream };
}

function firstSignificantLine(sample: string, atEnd: boolean): string | undefined {
  const lines = sample.replace(/^\uFEFF/, '').split('\n');
  const complete = atEnd ? lines : lines.slice(0, -1);
  return complete.map((l) => l.replace(/\r$/, '')).find((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
}
