import { HashListError } from '../domain/errors.js';
import { MAX_LINE_CHARS } from './line-reader.js';

/**
 * Assembles RFC 4180 records from physical lines: comma-separated, fields optionally quoted
 * with `"`, `""` inside quotes for a quote, newlines allowed inside quotes (the record then
 * spans lines and is reported at its first line). Lines without any quote take a fast
 * `split` path, which is nearly every line of a hash export.
 */
export class CsvRecordReader {
  #pending: string | null = null;
  #pendingLine = 0;

  constructor(readonly file: string) {}

  /** Returns the completed record's fields and first line, or null while a quote is open. */
  push(line: string, lineNo: number): { fields: string[]; line: number } | null {
    const text = this.#pending === null ? line : `${this.#pending}\n${line}`;
    const startLine = this.#pending === null ? lineNo : this.#pendingLine;
    if (text.indexOf('"') < 0) {
      this.#pending = null;
      return { fields: text.split(','), line: startLine };
    }
    const fields = splitQuoted(text, this.file, startLine);
    if (fields === null) {
      if (text.length > MAX_LINE_CHARS) throw new HashListError('quoted field never closes', this.file, startLine);
      this.#pending = text;
      this.#pendingLine = startLine;
      return null;
    }
    this.#pending = null;
    return { fields, line: startLine };
  }

  get open(): boolean {
    return this.#pending !== null;
  }

  /** Call at end of input: a quote still open means the file was cut short or is not CSV. */
  end(): void {
    if (this.#pending !== null) throw new HashListError('quoted field not closed before end of file', this.file, this.#pendingLine);
  }
}

/** Null when the text ends inside a quoted field (the record continues on the next line). */
function splitQuoted(text: string, file: string, line: number): string[] | null {
  const fields: string[] = [];
  let i = 0;
  const n = text.length;
  for (;;) {
    if (text.charCodeAt(i) === 34 /* " */) {
      let value = '';
      let from = i + 1;
      for (;;) {
        const q = text.indexOf('"', from);
        if (q < 0) return null;
        value += text.slice(from, q);
        if (text.charCodeAt(q + 1) === 34) {
          value += '"';
          from = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(value);
      if (i === n) return fields;
      if (text.charCodeAt(i) !== 44 /* , */) {
        throw new HashListError(`unexpected ${JSON.stringify(text[i])} after a closing quote (field ${fields.length})`, file, line);
      }
      i++;
    } else {
      // An unquoted field runs to the next comma; a stray quote inside it is kept literally.
      const comma = text.indexOf(',', i);
      if (comma < 0) {
        fields.push(text.slice(i));
        return fields;
      }
      fields.push(text.slice(i, comma));
      i = comma + 1;
    }
    if (i === n) {
      fields.push('');
      return fields;
    }
  }
}
