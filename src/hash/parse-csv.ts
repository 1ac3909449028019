import { HashListError } from '../domain/errors.js';
import { CsvRecordReader } from './csv-records.js';
import { HashListBuilder } from './hash-list-builder.js';
import type { HashListData } from './hash-list.js';
import { forEachLine, type ByteChunks } from './line-reader.js';

/**
 * Column names seen in real hash exports, in order of preference:
 * - `hash`, `pdq`, `pdq_hash`: generic exports and our own docs (`hash,quality,label`);
 * - `signal_str` with `signal_type`: python-threatexchange's signal export
 *   (`collab,signal_type,signal_str,category,tags`);
 * - `raw_indicator` with `type` (`HASH_PDQ`): ThreatExchange Graph API descriptor dumps;
 * - `file,hash,quality,...`: the PDQ reference's conformance CSVs.
 */
const HASH_COLUMNS = ['hash', 'pdq', 'pdq_hash', 'pdqhash', 'signal_str', 'signal_value', 'raw_indicator', 'indicator'];
const TYPE_COLUMNS = ['signal_type', 'hash_type', 'type', 'indicator_type'];
const PDQ_TYPES = new Set(['pdq', 'hash_pdq', 'pdq_hash', 'pdqhash', 'photo_pdq']);
const QUALITY_COLUMNS = ['quality', 'pdq_quality'];
const LABEL_COLUMNS = ['label', 'name', 'category', 'description', 'descriptor_id', 'id', 'file', 'filename'];

interface Layout {
  readonly width: number | null;
  readonly hash: number;
  readonly type: number;
  readonly quality: number;
  readonly label: number;
}

/**
 * CSV hash exports. With a header, the hash column is found by name (see HASH_COLUMNS);
 * quality and label columns are optional; rows of another signal type (an md5 row in a
 * mixed ThreatExchange export) are skipped and counted. Without a header (the first field of
 * the first record is a hash), two layouts are read: the PDQ reference hasher's
 * `hash,quality,filename` (second field 0..100) and ThreatExchange's hash dumps
 * `hash,descriptor_id,timestamp,tags` (second field kept as the label). Any malformed row
 * refuses the whole file with its line number.
 */
export async function parseCsvHashList(chunks: ByteChunks, file: string, reserve = 0): Promise<HashListData> {
  const builder = new HashListBuilder(reserve);
  const records = new CsvRecordReader(file);
  let layout: Layout | null = null;
  builder.lines = await forEachLine(chunks, file, (text, lineNo) => {
    if (!records.open && isBlank(text)) return;
    if (layout === null && !records.open && text.trimStart().startsWith('#')) return;
    const record = records.push(text, lineNo);
    if (!record) return;
    const { fields, line } = record;
    if (layout === null) {
      layout = headerLayout(fields, file, line);
      if (layout.width !== null) return;
    }
    addRow(builder, layout, fields, file, line);
  });
  records.end();
  return builder.finish('csv');
}

function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

function headerLayout(fields: string[], file: string, line: number): Layout {
  const first = fields[0]?.trim() ?? '';
  if (/^[0-9a-fA-F]{64}$/.test(first)) {
    const second = fields[1]?.trim();
    const pdqHasher = fields.length >= 3 && second !== undefined && parseQuality(second) !== null;
    return { width: null, hash: 0, type: -1, quality: pdqHasher ? 1 : -1, label: pdqHasher ? 2 : fields.length > 1 ? 1 : -1 };
  }
  const names = fields.map((f) => f.trim().toLowerCase());
  const find = (candidates: readonly string[]): number => {
    for (const c of candidates) {
      const at = names.indexOf(c);
      if (at >= 0) return at;
    }
    return -1;
  };
  const hash = find(HASH_COLUMNS);
  if (hash < 0) {
    throw new HashListError(
      `CSV header has no hash column (looked for ${HASH_COLUMNS.join(', ')}); got ${JSON.stringify(fields.slice(0, 12).join(','))}`,
      file,
      line,
    );
  }
  return { width: fields.length, hash, type: find(TYPE_COLUMNS), quality: find(QUALITY_COLUMNS), label: find(LABEL_COLUMNS) };
}

function addRow(builder: HashListBuilder, layout: Layout, fields: string[], file: string, line: number): void {
  if (layout.width !== null && fields.length !== layout.width) {
    throw new HashListError(`expected ${layout.width} fields as in the header, got ${fields.length}`, file, line);
  }
  if (layout.type >= 0) {
    const type = fields[layout.type]!.trim().toLowerCase();
    if (!PDQ_TYPES.has(type)) {
      if (type === '') throw new HashListError('empty signal type', file, line);
      builder.skippedOtherTypes++;
      return;
    }
  }
  const cell = fields[layout.hash];
  if (cell === undefined) throw new HashListError(`missing hash (field ${layout.hash + 1})`, file, line);
  const hash = cell.trim();
  if (hash.length !== 64 || !builder.addHex(hash, 0, labelOf(layout, fields), qualityOf(layout, fields, file, line))) {
    const shown = hash.length > 80 ? `${hash.slice(0, 80)}...` : hash;
    throw new HashListError(`field ${layout.hash + 1} is not a PDQ hash (64 hex digits): ${JSON.stringify(shown)}`, file, line);
  }
}

function labelOf(layout: Layout, fields: string[]): string | undefined {
  if (layout.label < 0) return undefined;
  return fields[layout.label]?.trim() || undefined;
}

function qualityOf(layout: Layout, fields: string[], file: string, line: number): number | undefined {
  if (layout.quality < 0) return undefined;
  const text = fields[layout.quality]?.trim() ?? '';
  if (text === '') return undefined;
  const q = parseQuality(text);
  if (q === null) throw new HashListError(`quality must be an integer 0..100, got ${JSON.stringify(text.slice(0, 20))}`, file, line);
  return q;
}

function parseQuality(text: string): number | null {
  if (!/^\d{1,3}$/.test(text)) return null;
  const q = Number(text);
  return q <= 100 ? q : null;
}
