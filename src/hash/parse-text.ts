import { HashListError } from '../domain/errors.js';
import { HashListBuilder } from './hash-list-builder.js';
import type { HashListData } from './hash-list.js';
import { forEachLine, type ByteChunks } from './line-reader.js';

/**
 * Plain-text list: one 64-hex PDQ hash per line, optionally followed by a TAB and a label.
 * Blank lines and lines starting with `#` are ignored. Any other line refuses the whole file,
 * naming the file and line: a half-loaded list would silently miss hashes. `reserve`: see
 * HashListBuilder.
 */
export async function parseTextHashList(chunks: ByteChunks, file: string, reserve = 0): Promise<HashListData> {
  const builder = new HashListBuilder(reserve);
  builder.lines = await forEachLine(chunks, file, (line, lineNo) => {
    let p = 0;
    while (p < line.length && (line.charCodeAt(p) === 32 || line.charCodeAt(p) === 9)) p++;
    if (p === line.length || line.charCodeAt(p) === 35 /* # */) return;
    const end = p + 64;
    let label: string | undefined;
    if (end < line.length) {
      if (line.charCodeAt(end) === 9) label = line.slice(end + 1).trim();
      else if (line.slice(end).trim() !== '') throw malformed(line, file, lineNo);
    }
    if (!builder.addHex(line, p, label)) throw malformed(line, file, lineNo);
  });
  return builder.finish('text');
}

function malformed(line: string, file: string, lineNo: number): HashListError {
  const shown = line.length > 80 ? `${line.slice(0, 80)}...` : line;
  return new HashListError(`expected 64 hex digits, optionally a TAB and a label; got ${JSON.stringify(shown)}`, file, lineNo);
}
