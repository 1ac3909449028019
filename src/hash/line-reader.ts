import { HashListError } from '../domain/errors.js';

/** No legitimate list line comes near this; binary garbage without newlines stops here. */
export const MAX_LINE_CHARS = 1 << 20;

/** Anything the parsers can read from: a file stream, an Object Store download, test chunks. */
export type ByteChunks = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/**
 * Streams `chunks` as UTF-8 text and calls `onLine` synchronously for each line (without its
 * `\n` or `\r\n`), numbered from 1. A callback rather than an async iterator: millions of lines
 * would otherwise each cost a promise. Invalid UTF-8 and over-long lines refuse the file.
 * A leading byte-order mark is dropped. Returns the number of lines.
 */
export async function forEachLine(chunks: ByteChunks, file: string, onLine: (line: string, lineNo: number) => void): Promise<number> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let carry = '';
  let lineNo = 0;
  const decode = (bytes: Uint8Array | undefined, stream: boolean): string => {
    try {
      return bytes ? decoder.decode(bytes, { stream }) : decoder.decode();
    } catch (err) {
      throw new HashListError('not valid UTF-8 text', file, lineNo + 1, { cause: err });
    }
  };
  const feed = (text: string, final: boolean): void => {
    let buf = carry.length ? carry + text : text;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf('\n', start);
      if (nl < 0) break;
      const end = nl > start && buf.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      onLine(buf.slice(start, end), ++lineNo);
      start = nl + 1;
    }
    buf = buf.slice(start);
    if (final) {
      if (buf.length) onLine(buf.endsWith('\r') ? buf.slice(0, -1) : buf, ++lineNo);
      carry = '';
      return;
    }
    if (buf.length > MAX_LINE_CHARS) throw new HashListError(`line longer than ${MAX_LINE_CHARS} characters`, file, lineNo + 1);
    carry = buf;
  };
  for await (const chunk of chunks) feed(decode(chunk, true), false);
  feed(decode(undefined, false), true);
  return lineNo;
}
