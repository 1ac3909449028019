/**
 * `streamscreen hash [--dihedral] FILE...`: PDQ hashes of image files, one line per file in the
 * reference tool's `hash,quality,file` layout (with --dihedral, the eight dihedral hashes in
 * DIHEDRAL_ORDER come before quality). A file that cannot be read is reported on stderr and
 * skipped; the exit code says whether every file was hashed.
 */
import { parseArgs } from 'node:util';
import { DIHEDRAL_ORDER, pdqToHex } from '../../domain/pdq.js';
import { createPdqHasher } from '../../hash/pdq-hasher.js';
import { readRgbImage } from '../../worker/sampler/image-file.js';
import { processIO, type CommandIO } from './io.js';

const USAGE = `usage: streamscreen hash [--dihedral] FILE...

Prints "hash,quality,file" for each image file (JPEG, PNG, WebP, GIF first frame, ...).
PDQ hashes are 64 hex digits, bit-exact with Meta's reference on identical pixels; quality
is 0..100 (below 50 is too unreliable to match on).

  --dihedral   print the 8 hashes orig,rot90,rot180,rot270,flipx,flipy,flipplus1,flipminus1
               before quality
  -h, --help   show this help

Exit status: 0 all files hashed, 1 some file could not be read, 2 usage error.
`;

export async function run(argv: string[], io: CommandIO = processIO): Promise<number> {
  let values: { dihedral?: boolean; help?: boolean };
  let files: string[];
  try {
    ({ values, positionals: files } = parseArgs({
      args: argv,
      options: { dihedral: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    io.stderr.write(`streamscreen hash: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  if (files.length === 0) {
    io.stderr.write(`streamscreen hash: no files given\n\n${USAGE}`);
    return 2;
  }

  const hasher = createPdqHasher();
  let failed = 0;
  for (const file of files) {
    let line: string;
    try {
      const img = await readRgbImage(file);
      if (values.dihedral) {
        const r = hasher.hashDihedral(img);
        line = `${DIHEDRAL_ORDER.map((name) => pdqToHex(r.hashes[name])).join(',')},${r.quality},${file}`;
      } else {
        const r = hasher.hash(img);
        line = `${pdqToHex(r.hash)},${r.quality},${file}`;
      }
    } catch (err) {
      failed++;
      // ImageDecodeError messages already start with the file name.
      const message = err instanceof Error ? err.message : String(err);
      io.stderr.write(`streamscreen hash: ${message.startsWith(file) ? message : `${file}: ${message}`}\n`);
      continue;
    }
    io.stdout.write(`${line}\n`);
  }
  return failed > 0 ? 1 : 0;
}
