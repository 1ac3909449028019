/**
 * Property-based fuzzing (fast-check) of the hash-list parsers (src/hash/parse-*.ts), which
 * read files from outside (a hash-sharing programme's export, an Object Store download): whatever
 * the bytes and however they are chunked, a list is either parsed exactly or refused whole with
 * a HashListError naming a line of the file, never anything else; valid lists round-trip.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashListError } from '../../src/domain/errors.js';
import { entryLabel, type HashListData } from '../../src/hash/hash-list.js';
import { parseHashList } from '../../src/hash/parse-hashlist.js';
import { pdqToHex } from '../../src/domain/pdq.js';

const RUNS = 300;

/** The bytes cut at the given offsets (sorted, deduplicated): line, quote and UTF-8 boundaries land inside chunks. */
function chunked(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    if (p > from) out.push(bytes.subarray(from, p));
    from = Math.max(from, p);
  }
  return out;
}

function entries(data: HashListData): Array<[string, string | undefined]> {
  return Array.from({ length: data.count }, (_, i) => [pdqToHex(data.hashes.subarray(i * 16, i * 16 + 16)), entryLabel(data, i)]);
}

const hex64 = fc.stringMatching(/^[0-9a-fA-F]{64}$/);
/** Labels as the parsers keep them: trimmed, non-empty, no TAB or line break. */
const label = fc
  .string({ minLength: 1, maxLength: 24, unit: 'grapheme' })
  .map((s) => s.replace(/[\t\r\n]/g, ' ').trim())
  .filter((s) => s.length > 0);
const entry = fc.record({ hash: hex64, label: fc.option(label, { nil: undefined }) });
const eol = fc.constantFrom('\n', '\r\n');
const cuts = fc.array(fc.nat(), { maxLength: 12 });
const fileName = fc.constantFrom('list.txt', 'list.csv', 'list', 'list.pdq');

/** Lines that a text file may hold between entries without changing the list. */
const filler = fc.oneof(
  fc.constant(''),
  fc.constant('   '),
  label.map((l) => `# ${l}`),
  label.map((l) => `\t  # ${l}`),
);

describe('hash-list parsers under fuzzing', () => {
  it('arbitrary bytes: a list, or a HashListError naming a line of the file; nothing else escapes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), cuts, fileName, async (bytes, cut, file) => {
        const lines = new TextDecoder().decode(bytes).split('\n').length;
        try {
          const { data, bytes: n } = await parseHashList(chunked(bytes, cut), file);
          expect(n).toBe(bytes.length);
          expect(data.count).toBeLessThanOrEqual(lines);
          expect(data.hashes.length).toBeGreaterThanOrEqual(data.count * 16);
        } catch (err) {
          expect(err).toBeInstanceOf(HashListError);
          const line = (err as HashListError).line;
          if (line !== undefined) {
            expect(line).toBeGreaterThanOrEqual(1);
            expect(line).toBeLessThanOrEqual(lines + 1);
          }
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary text of hash-like lines (near misses included): the same contract', async () => {
    const nearMiss = fc.oneof(
      hex64,
      hex64.map((h) => h.slice(1)),
      hex64.map((h) => `${h}0`),
      hex64.map((h) => `${h.slice(0, 10)}g${h.slice(11)}`),
      fc.tuple(hex64, label).map(([h, l]) => `${h}\t${l}`),
      fc.tuple(hex64, label).map(([h, l]) => `${h} ${l}`),
      fc.tuple(hex64, fc.integer({ min: -5, max: 300 }), label).map(([h, q, l]) => `${h},${q},${l}`),
      fc.constantFrom('hash,quality,label', 'signal_type,signal_str', '"', '""', '"a,b', 'pdq,' + 'f'.repeat(64)),
      filler,
    );
    await fc.assert(
      fc.asyncProperty(fc.array(nearMiss, { maxLength: 20 }), eol, cuts, fileName, async (lines, nl, cut, file) => {
        const bytes = new TextEncoder().encode(lines.join(nl));
        await parseHashList(chunked(bytes, cut), file).then(
          (r) => expect(r.data.count).toBeLessThanOrEqual(lines.length),
          (err: unknown) => {
            expect(err).toBeInstanceOf(HashListError);
            const line = (err as HashListError).line;
            if (line !== undefined) expect(line).toBeLessThanOrEqual(lines.length + 1);
          },
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('text lists round-trip: every entry, in order, with its label, whatever the comments, blank lines, line ends and chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.array(filler, { maxLength: 2 }), entry), { maxLength: 30 }),
        eol,
        cuts,
        async (rows, nl, cut) => {
          const text = rows.flatMap(([fill, e]) => [...fill, e.label === undefined ? e.hash : `${e.hash}\t${e.label}`]).join(nl);
          const { data } = await parseHashList(chunked(new TextEncoder().encode(text), cut), 'list.txt');
          expect(entries(data)).toEqual(rows.map(([, e]) => [e.hash.toLowerCase(), e.label]));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('CSV lists round-trip, labels quoted with commas, quotes and line breaks inside', async () => {
    const csvLabel = fc
      .string({ minLength: 1, maxLength: 20, unit: fc.constantFrom('a', 'Z', '7', ' ', ',', '"', '\n', '#', 'é', '😀') })
      .filter((s) => s.trim().length > 0 && s.trim() === s);
    const row = fc.record({ hash: hex64, quality: fc.integer({ min: 0, max: 100 }), label: csvLabel });
    const quote = (s: string): string => `"${s.replace(/"/g, '""')}"`;
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 20 }), eol, cuts, async (rows, nl, cut) => {
        const text = ['hash,quality,label', ...rows.map((r) => `${r.hash},${r.quality},${quote(r.label)}`)].join(nl);
        const { data } = await parseHashList(chunked(new TextEncoder().encode(text), cut), 'list.csv');
        expect(entries(data)).toEqual(rows.map((r) => [r.hash.toLowerCase(), r.label]));
      }),
      { numRuns: RUNS },
    );
  });

  it('one bad line refuses the whole text list, naming that line', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(hex64, { minLength: 1, maxLength: 20 }),
        fc.nat(),
        fc.constantFrom('not a hash', 'g'.repeat(64), 'f'.repeat(63), `${'f'.repeat(64)} trailing`),
        async (hashes, at, bad) => {
          const lines = [...hashes];
          const index = at % (lines.length + 1);
          lines.splice(index, 0, bad);
          const err = await parseHashList([new TextEncoder().encode(lines.join('\n'))], 'list.txt').catch((e: unknown) => e);
          expect(err).toBeInstanceOf(HashListError);
          expect((err as HashListError).line).toBe(index + 1);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
