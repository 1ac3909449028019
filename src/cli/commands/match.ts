import { parseArgs } from 'node:util';
import { CONFIG_DEFAULTS, listIdFromPath, resolveConfig } from '../../config/index.js';
import { HashListError } from '../../domain/errors.js';
import { HASH_LIST_ID_PATTERN, type LoadedList } from '../../hash/hash-list.js';
import { createHashMatcher } from '../../hash/hash-matcher.js';
import { indexParsedList } from '../../hash/load-list.js';
import { downloadHashList, openHashListBucket } from '../../hash/object-store-lists.js';
import { parseHashListFile } from '../../hash/parse-hashlist.js';
import { isPdqHex, pdqFromHex } from '../../domain/pdq.js';
import { bucketTarget, connectOnce, type BucketFlags, type CommandEnv } from './hashlist.js';
import { processIO, type CommandIO } from './io.js';

const USAGE = `usage: streamscreen match HASH [--lists a,b] [--radius N] [--file [ID=]PATH ...]
                          [--config FILE] [--nats-url URL] [--bucket NAME]

Looks one 64-hex PDQ hash up in the published hash lists (or in local --file lists) and prints
each match as a JSON line: {"list","label","distance","hash","action"}. No quality gate applies,
and negative lists' hits are shown (action "negative") without suppressing the others. Each list
matches at its own distance (default ${CONFIG_DEFAULTS.hash.maxDistance}) unless --radius gives one for all.
Server and bucket come from the config file (default config/streamscreen.json, or
$STREAMSCREEN_CONFIG) and $NATS_URL, as for the worker; --nats-url and --bucket override them.
With --file, neither NATS nor the config file is used.
Exit status: 0 at least one match, 1 no match, 2 usage error or lists could not be read.
`;

/** One list lookup for an operator: downloads (verified) or reads the lists and scans them. */
export async function run(argv: string[], io: CommandIO = processIO, env: CommandEnv = {}): Promise<number> {
  let values: { lists?: string; radius?: string; file?: string[]; config?: string; 'nats-url'?: string; bucket?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        lists: { type: 'string' },
        radius: { type: 'string' },
        file: { type: 'string', multiple: true },
        config: { type: 'string' },
        'nats-url': { type: 'string' },
        bucket: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return usage(io, (err as Error).message);
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length !== 1 || !isPdqHex(positionals[0]!)) return usage(io, 'expected one PDQ hash (64 hex digits)');
  const radius = values.radius === undefined ? undefined : Number(values.radius);
  if (radius !== undefined && (!Number.isInteger(radius) || radius < 0 || radius > 256))
    return usage(io, `--radius must be an integer 0..256, got '${values.radius}'`);
  const only = values.lists
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const wanted = only?.length ? new Set(only) : undefined;
  // One query: a linear scan beats building a multi-index.
  const index = { minIndexedSize: Number.POSITIVE_INFINITY };

  let lists: LoadedList[];
  try {
    lists = values.file?.length ? await fromFiles(values.file, wanted, index) : await fromBucket(values, env, wanted, index, io);
  } catch (err) {
    io.stderr.write(`streamscreen match: ${(err as Error).message}\n`);
    return 2;
  }
  if (wanted) {
    const missing = [...wanted].filter((id) => !lists.some((l) => l.meta.id === id));
    if (missing.length) io.stderr.write(`streamscreen match: warning: no list named ${missing.join(', ')}\n`);
  }
  // Each list matches at its own distance (default hash.maxDistance) unless --radius gives one for all.
  const matcher = createHashMatcher(resolveConfig().stages.matcher);
  matcher.source('cli').replaceAll(lists);
  const matches = matcher.lookup(pdqFromHex(positionals[0]!), radius === undefined ? {} : { radius });
  for (const m of matches) io.stdout.write(`${JSON.stringify(m)}\n`);
  return matches.length ? 0 : 1;
}

function usage(io: CommandIO, message: string): number {
  io.stderr.write(`streamscreen match: ${message}\n\n${USAGE}`);
  return 2;
}

async function fromFiles(specs: string[], wanted: Set<string> | undefined, index: { minIndexedSize: number }): Promise<LoadedList[]> {
  const out: LoadedList[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const named = eq > 0 && HASH_LIST_ID_PATTERN.test(spec.slice(0, eq));
    const path = named ? spec.slice(eq + 1) : spec;
    const id = named ? spec.slice(0, eq) : listIdFromPath(path);
    if (wanted && !wanted.has(id)) continue;
    out.push(await indexParsedList(await parseHashListFile(path), { id, origin: `file:${path}` }, index));
  }
  return out;
}

async function fromBucket(
  values: BucketFlags,
  env: CommandEnv,
  wanted: Set<string> | undefined,
  index: { minIndexedSize: number },
  io: CommandIO,
): Promise<LoadedList[]> {
  const { nats, bucket } = bucketTarget(values, env);
  const nc = await connectOnce(nats);
  try {
    const os = await openHashListBucket(nc, bucket, { create: false });
    const out: LoadedList[] = [];
    if (!os) return out;
    for (const info of await os.list()) {
      if (wanted && !wanted.has(info.name)) continue;
      try {
        const got = await downloadHashList(os, info.name, index);
        if (got && got.meta.enabled) out.push(got.list);
      } catch (err) {
        if (!(err instanceof HashListError)) throw err;
        // Workers refuse this version too; say so rather than silently search less.
        io.stderr.write(`streamscreen match: warning: list ${info.name} skipped: ${err.message}\n`);
      }
    }
    return out;
  } finally {
    await nc.close().catch(() => undefined);
  }
}
