/**
 * Hash matching benchmark: the multi-index (src/hash/index-mih.ts: 11 slots below 4M entries, 8
 * of 32 bits from there) against the linear scan it must equal, in one run, on one thread.
 *
 * - 1M part: a seeded random list of `--size` hashes, queries half uniformly random (misses)
 *   and half near-duplicates of listed hashes at 0..48 flipped bits (about two thirds within
 *   31, so hits and near misses both occur). Every query is timed alone, in wall-clock time and
 *   in this process's CPU time (on a shared machine the wall-clock tail is mostly other
 *   processes' time slices; both are reported); p50/p99, and the floor: each query's fastest of
 *   three runs, whose p99 shows whether the tail is the queries' or the machine's. The scan runs on a subset of the same
 *   queries, and its results are compared with the index's exactly (`recall_vs_scan` must be 1,
 *   `extra_vs_scan` 0).
 * - 10M part (a child process, so its memory is its own): `--big` hashes written as a text
 *   list to a temp file, then loaded the way a worker does (streaming parse, stepped index
 *   build); reports parse and build seconds, RSS after loading and peak RSS, bytes per hash,
 *   and query times. About a minute and 2 GB of peak RSS; `--big 0` skips it.
 * - PDQ hashing figures from bench/bench-pdq.ts (benchPdq(): production hasher vs its baseline).
 *
 * Writes bench-results/hash.json. Usage:
 * - HTTP lookup latency: the 1M index behind the matcher's HMA API (GET /m/lookup) on 127.0.0.1,
 *   one request at a time over a kept-alive connection, against the same look-up without HTTP.
 * - Time to matchable: each list (1M, and 10M with --big) published with `hashlist publish`'s code
 *   to a real nats-server and picked up by a running worker process (bench/time-to-matchable.ts).
 *
 *   npm run bench:hash [-- --size 1000000 --big 10000000 --queries 2000 --scan-queries 200 --radius 31 --no-pdq --no-ttm]
 * Sizes can also come from BENCH_HASH_SIZE, BENCH_HASH_BIG, BENCH_HASH_QUERIES, BENCH_HASH_SCAN_QUERIES
 * (e.g. BENCH_HASH_BIG=0 skips the 10M part while developing).
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuiltIndex, HashIndex } from '../src/hash/hash-index.js';
import { MihIndex } from '../src/hash/index-mih.js';
import { ScanIndex } from '../src/hash/index-scan.js';
import { parseHashListFile } from '../src/hash/parse-hashlist.js';
import { searchAll } from '../test/hash/search-all.js';
import { nearDuplicate, randomHashes, seededRandom } from '../test/support/synthetic-hashes.js';
import { benchPdq, type PdqBenchResult } from './bench-pdq.js';
import { timeToMatchable, type TimeToMatchable } from './time-to-matchable.js';
import { httpLookupLatency } from './http-lookup.js';

interface Args {
  size: number;
  big: number;
  queries: number;
  scanQueries: number;
  radius: number;
  pdq: boolean;
  /** Time to matchable (nats-server and a worker process): --no-ttm skips it. */
  ttm: boolean;
}

interface BigFigures {
  size: number;
  key_bits: number;
  slots: number;
  parse_s: number;
  build_s: number;
  load_total_s: number;
  rss_mb: number;
  peak_rss_mb: number;
  bytes_per_hash: number;
  query_p50_ms: number;
  query_p99_ms: number;
  query_cpu_p50_ms: number;
  query_cpu_p99_ms: number;
  floor_p50_ms: number;
  floor_p99_ms: number;
}

function parseArgs(argv: string[]): Args {
  const num = (flag: string, envName: string, fallback: number, min: number): number => {
    const i = argv.indexOf(`--${flag}`);
    const raw = i >= 0 ? argv[i + 1] : process.env[envName];
    const v = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isInteger(v) || v < min) throw new Error(`--${flag} / ${envName} must be an integer >= ${min}, got ${raw}`);
    return v;
  };
  return {
    size: num('size', 'BENCH_HASH_SIZE', 1_000_000, 1),
    big: num('big', 'BENCH_HASH_BIG', 10_000_000, 0),
    queries: num('queries', 'BENCH_HASH_QUERIES', 2_000, 10),
    scanQueries: num('scan-queries', 'BENCH_HASH_SCAN_QUERIES', 200, 1),
    radius: num('radius', 'BENCH_HASH_RADIUS', 31, 0),
    pdq: !argv.includes('--no-pdq'),
    ttm: !argv.includes('--no-ttm') && process.env.BENCH_HASH_TTM !== '0',
  };
}

function quantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (!s.length) return Number.NaN;
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}

const median = (v: readonly number[]): number => quantile(v, 0.5);
const r3 = (v: number): number => Math.round(v * 1000) / 1000;

/** Half uniformly random, half near-duplicates of listed entries at 0..48 bits. */
function makeQueries(hashes: Uint16Array, size: number, count: number, seed: number): Uint16Array[] {
  const rand = seededRandom(seed);
  const out: Uint16Array[] = [];
  for (let i = 0; i < count; i++) {
    out.push(i % 2 === 0 ? randomHashes(1, rand) : nearDuplicate(hashes, (rand() * size) >>> 0, (rand() * 49) >>> 0, rand));
  }
  return out;
}

interface QueryTimes {
  /** Wall-clock ms per query. */
  times: number[];
  /** This process's CPU ms per query (user + system, microsecond resolution). */
  cpu: number[];
  hits: number;
}

function timeQueries(index: HashIndex, queries: readonly Uint16Array[], radius: number): QueryTimes {
  const times: number[] = [];
  const cpu: number[] = [];
  let hits = 0;
  const onHit = (): void => {
    hits++;
  };
  for (const q of queries) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    index.search(q, radius, onHit);
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { times, cpu, hits };
}

/**
 * Each query's fastest of `run` and `again` more runs: the query's own cost, with most of what
 * other processes add (time slices, evicted caches) taken out. Its p99 against the plain run's
 * p99 tells a slow query from a slow machine.
 */
function floorTimes(index: HashIndex, queries: readonly Uint16Array[], radius: number, run: QueryTimes, again = 2): number[] {
  const floor = [...run.times];
  for (let k = 0; k < again; k++) timeQueries(index, queries, radius).times.forEach((t, i) => (floor[i] = Math.min(floor[i]!, t)));
  return floor;
}

/** An index's hits as [input entry, distance], sorted: undoes the multi-index's renumbering. */
function hitsInInputOrder(built: BuiltIndex, query: Uint16Array, radius: number): Array<[number, number]> {
  const hits = searchAll(built.index, query, radius);
  const order = built.order;
  if (!order) return hits;
  return hits.map(([e, d]): [number, number] => [order[e]!, d]).sort((a, b) => a[0] - b[0]);
}

/** PDQ hashing figures from the pdq helper's benchmark (bench/bench-pdq.ts), in this run. */
async function pdqFigures(enabled: boolean): Promise<PdqBenchResult | { skipped: string }> {
  return enabled ? benchPdq() : { skipped: '--no-pdq' };
}

async function runMain(args: Args): Promise<void> {
  const started = Date.now();
  console.log(
    `bench-hash: size ${args.size}, big ${args.big}, ${args.queries} queries (${args.scanQueries} also scanned), radius ${args.radius}`,
  );
  console.log(
    `machine: ${cpus()[0]?.model ?? '?'} x${cpus().length}, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}, node ${process.version}`,
  );

  const pdq = await pdqFigures(args.pdq);

  const hashes = randomHashes(args.size, seededRandom(1));
  const t0 = performance.now();
  const built = MihIndex.build(hashes, args.size);
  const mih = built.index;
  const buildS = (performance.now() - t0) / 1000;
  const scan = new ScanIndex(hashes, args.size);
  const queries = makeQueries(hashes, args.size, args.queries, 2);
  timeQueries(mih, makeQueries(hashes, args.size, 300, 3), args.radius); // warm-up: JIT (WebAssembly tier-up), caches
  const indexRun = timeQueries(mih, queries, args.radius);
  const indexFloor = floorTimes(mih, queries, args.radius, indexRun);

  const scanned = queries.slice(0, Math.min(args.scanQueries, queries.length));
  timeQueries(scan, scanned.slice(0, 5), args.radius);
  const scanRun = timeQueries(scan, scanned, args.radius);

  let scanHits = 0;
  let found = 0;
  let extra = 0;
  let exactQueries = 0;
  for (const q of scanned) {
    const a = hitsInInputOrder(built, q, args.radius);
    const b = searchAll(scan, q, args.radius);
    const inB = new Set(b.map(([e, d]) => `${e}:${d}`));
    const common = a.filter(([e, d]) => inB.has(`${e}:${d}`)).length;
    scanHits += b.length;
    found += common;
    extra += a.length - common;
    if (common === b.length && a.length === b.length) exactQueries++;
  }
  const recall = scanHits === 0 ? 1 : found / scanHits;

  // The same index behind the matcher's HMA API, over HTTP on 127.0.0.1.
  const http = await httpLookupLatency(mih, args.size, queries.slice(0, Math.min(queries.length, 2_000)));

  const dir = await mkdtemp(join(tmpdir(), 'bench-hash-'));
  let big: BigFigures | null = null;
  const ttm: TimeToMatchable[] = [];
  try {
    if (args.ttm) {
      const file = join(dir, 'list-1m.txt');
      await writeTextList(file, args.size, 20);
      console.log(`time to matchable: publishing ${args.size} hashes to a running worker...`);
      ttm.push(await timeToMatchable(file, args.size));
      await rm(file);
    }
    if (args.big > 0) {
      const file = join(dir, 'list-big.txt');
      await writeTextList(file, args.big, 10);
      console.log(`${args.big} hashes: loading as a worker does (child process)...`);
      big = await runBigInChild(args, file);
      if (args.ttm) {
        console.log(`time to matchable: publishing ${args.big} hashes to a running worker...`);
        ttm.push(await timeToMatchable(file, args.big));
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const p50 = median(indexRun.times);
  const scanP50 = median(scanRun.times);
  const results = {
    pdq_ms_median_512: 'pdq_ms_median_512' in pdq ? pdq.pdq_ms_median_512 : null,
    pdq_ms_p99_512: 'pdq_ms_p99_512' in pdq ? pdq.pdq_ms_p99_512 : null,
    pdq_baseline_ms_median_512: 'baseline_ms_median_512' in pdq ? pdq.baseline_ms_median_512 : null,
    pdq_speedup_vs_baseline: 'speedup_vs_baseline' in pdq ? pdq.speedup_vs_baseline : null,
    ...('skipped' in pdq ? { pdq_skipped: pdq.skipped } : {}),
    list_size: args.size,
    radius: args.radius,
    queries: args.queries,
    query_hits: indexRun.hits,
    index_key_bits_1m: mih.keyBits,
    index_slots_1m: mih.slotCount,
    index_build_s_1m: r3(buildS),
    index_query_p50_ms_1m: r3(p50),
    index_query_p99_ms_1m: r3(quantile(indexRun.times, 0.99)),
    index_query_mean_ms_1m: r3(indexRun.times.reduce((s, t) => s + t, 0) / indexRun.times.length),
    index_query_cpu_p50_ms_1m: r3(median(indexRun.cpu)),
    index_query_cpu_p99_ms_1m: r3(quantile(indexRun.cpu, 0.99)),
    index_query_floor_p50_ms_1m: r3(median(indexFloor)),
    index_query_floor_p99_ms_1m: r3(quantile(indexFloor, 0.99)),
    scan_queries: scanned.length,
    scan_query_p50_ms_1m: r3(scanP50),
    scan_query_p99_ms_1m: r3(quantile(scanRun.times, 0.99)),
    speedup_index_vs_scan_p50: r3(scanP50 / p50),
    recall_vs_scan: recall,
    extra_vs_scan: extra,
    exact_equal_queries: `${exactQueries}/${scanned.length}`,
    scan_hits_compared: scanHits,
    bytes_per_hash_1m: r3((hashes.byteLength + mih.indexBytes) / args.size),
    index_build_s_10m: big?.build_s ?? null,
    index_parse_s_10m: big?.parse_s ?? null,
    index_load_total_s_10m: big?.load_total_s ?? null,
    index_rss_mb_10m: big?.rss_mb ?? null,
    index_peak_rss_mb_10m: big?.peak_rss_mb ?? null,
    bytes_per_hash_10m: big?.bytes_per_hash ?? null,
    index_query_p50_ms_10m: big?.query_p50_ms ?? null,
    index_query_p99_ms_10m: big?.query_p99_ms ?? null,
    index_query_cpu_p50_ms_10m: big?.query_cpu_p50_ms ?? null,
    index_query_cpu_p99_ms_10m: big?.query_cpu_p99_ms ?? null,
    index_query_floor_p50_ms_10m: big?.floor_p50_ms ?? null,
    index_query_floor_p99_ms_10m: big?.floor_p99_ms ?? null,
    index_key_bits_10m: big?.key_bits ?? null,
    index_slots_10m: big?.slots ?? null,
    http_lookup_p50_ms_1m: http.http_p50_ms,
    http_lookup_p99_ms_1m: http.http_p99_ms,
    http_lookup_cpu_p50_ms_1m: http.http_cpu_p50_ms,
    http_lookup_cpu_p99_ms_1m: http.http_cpu_p99_ms,
    http_lookup_direct_p50_ms_1m: http.direct_p50_ms,
    http_lookup_direct_p99_ms_1m: http.direct_p99_ms,
    http_lookup_vs_direct_p50: r3(http.http_p50_ms / http.direct_p50_ms),
    http_lookup_vs_direct_p99: r3(http.http_p99_ms / http.direct_p99_ms),
    http_lookup_requests: http.requests,
    big_size: big?.size ?? 0,
    time_to_matchable: ttm,
    machine: { cpu: cpus()[0]?.model ?? '?', cores: cpus().length, load: loadavg(), node: process.version },
    at: new Date().toISOString(),
    wall_s: r3((Date.now() - started) / 1000),
  };

  const rows: Array<[string, string, string]> = [
    [
      'PDQ hash 512x512 (median / p99)',
      fmt(results.pdq_ms_median_512, 'ms'),
      `${fmt(results.pdq_ms_p99_512, 'ms')}${results.pdq_speedup_vs_baseline ? `, ${results.pdq_speedup_vs_baseline}x baseline` : ''}${'skipped' in pdq ? ` (${pdq.skipped})` : ''}`,
    ],
    [`index build (${args.size}, ${mih.slotCount} slots, ${mih.keyBits} key bits)`, fmt(results.index_build_s_1m, 's'), ''],
    [`index query p50 / p99 (${args.size})`, fmt(results.index_query_p50_ms_1m, 'ms'), fmt(results.index_query_p99_ms_1m, 'ms')],
    [
      `index query CPU p50 / p99 (${args.size})`,
      fmt(results.index_query_cpu_p50_ms_1m, 'ms'),
      fmt(results.index_query_cpu_p99_ms_1m, 'ms'),
    ],
    [
      `index query floor p50 / p99 (${args.size}, each query's fastest of 3 runs)`,
      fmt(results.index_query_floor_p50_ms_1m, 'ms'),
      fmt(results.index_query_floor_p99_ms_1m, 'ms'),
    ],
    [`scan query p50 / p99 (${args.size})`, fmt(results.scan_query_p50_ms_1m, 'ms'), fmt(results.scan_query_p99_ms_1m, 'ms')],
    ['index speed-up vs scan (p50)', `${results.speedup_index_vs_scan_p50}x`, ''],
    [
      'recall vs scan / extra',
      String(recall),
      `${extra} extra, ${results.exact_equal_queries} queries identical, ${scanHits} hits compared`,
    ],
    ['bytes per hash (hashes + index)', String(results.bytes_per_hash_1m), ''],
    [
      `HTTP GET /m/lookup p50 / p99 (${args.size})`,
      fmt(http.http_p50_ms, 'ms'),
      `${fmt(http.http_p99_ms, 'ms')} (same look-up without HTTP: p50 ${http.direct_p50_ms} ms, p99 ${http.direct_p99_ms} ms; ` +
        `HTTP / direct ${results.http_lookup_vs_direct_p50}x p50, ${results.http_lookup_vs_direct_p99}x p99)`,
    ],
    [`HTTP GET /m/lookup CPU p50 / p99 (${args.size})`, fmt(http.http_cpu_p50_ms, 'ms'), fmt(http.http_cpu_p99_ms, 'ms')],
  ];
  if (big) {
    rows.push(
      [`load ${big.size}: parse / index build`, fmt(big.parse_s, 's'), fmt(big.build_s, 's')],
      [`RSS after load / peak (${big.size})`, fmt(big.rss_mb, 'MB'), fmt(big.peak_rss_mb, 'MB')],
      [
        `index query p50 / p99 (${big.size}, ${big.slots} slots, ${big.key_bits} key bits)`,
        fmt(big.query_p50_ms, 'ms'),
        fmt(big.query_p99_ms, 'ms'),
      ],
      [`index query CPU p50 / p99 (${big.size})`, fmt(big.query_cpu_p50_ms, 'ms'), fmt(big.query_cpu_p99_ms, 'ms')],
      [`index query floor p50 / p99 (${big.size}, fastest of 3 runs)`, fmt(big.floor_p50_ms, 'ms'), fmt(big.floor_p99_ms, 'ms')],
      ['bytes per hash', String(big.bytes_per_hash), ''],
    );
  }
  for (const t of ttm) {
    rows.push([
      `publish -> matchable in a worker (${t.entries})`,
      fmt(t.total_s, 's'),
      `publish ${t.publish_s} s, worker load ${t.worker_load_s} s`,
    ]);
  }
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log('');
  for (const [name, a, b] of rows) console.log(`${name.padEnd(w)}  ${a.padStart(10)}  ${b}`);

  const out = join(repoRoot(), 'bench-results', 'hash.json');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
  if (recall !== 1 || extra !== 0) {
    console.error('FAIL: the index and the scan disagree');
    process.exitCode = 1;
  }
}

function fmt(v: number | null | undefined, unit: string): string {
  return v === null || v === undefined ? 'n/a' : `${v} ${unit}`;
}

function repoRoot(): string {
  // Runs from source under tsx: bench/ sits at the repository root.
  return join(dirname(fileURLToPath(import.meta.url)), '..');
}

async function runBigInChild(args: Args, file: string): Promise<BigFigures> {
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      // So the RSS after loading is measured after a full collection.
      '--expose-gc',
      fileURLToPath(import.meta.url),
      '--child-big',
      String(args.big),
      '--file',
      file,
      '--queries',
      String(Math.min(args.queries, 1000)),
      '--radius',
      String(args.radius),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`10M child exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as BigFigures;
}

const HEX4 = Array.from({ length: 65536 }, (_, v) => v.toString(16).padStart(4, '0'));

/**
 * Parses and indexes as a worker does; the parsed array goes out of scope on return, as in a
 * worker, where the index's memory then holds the only copy of the hashes.
 */
async function loadAsWorker(file: string, size: number): Promise<{ index: MihIndex; parseS: number; buildS: number }> {
  const t0 = performance.now();
  const { data } = await parseHashListFile(file);
  const t1 = performance.now();
  const { index } = await MihIndex.buildAsync(data.hashes, data.count);
  const t2 = performance.now();
  if (data.count !== size) throw new Error(`parsed ${data.count} of ${size}`);
  return { index, parseS: (t1 - t0) / 1000, buildS: (t2 - t1) / 1000 };
}

/** The 10M part: write a text list, then load it as a worker does, and measure this process. */
/** A text hash list of `size` seeded random hashes, written in chunks (10M: 650 MB, never held as one string). */
async function writeTextList(file: string, size: number, seed: number): Promise<void> {
  const rand = seededRandom(seed);
  const stream = createWriteStream(file);
  const word = new Uint16Array(16);
  const per = 1 << 15;
  for (let done = 0; done < size; done += per) {
    let text = '';
    for (let i = done; i < Math.min(size, done + per); i++) {
      randomHashes(1, rand, word);
      for (let w = 0; w < 16; w++) text += HEX4[word[w]!];
      text += '\n';
    }
    if (!stream.write(text)) await new Promise<void>((r) => stream.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/** The 10M part, in its own process: load the list the parent wrote as a worker does, and measure this process. */
async function runBig(file: string, size: number, queries: number, radius: number): Promise<void> {
  const { index, parseS, buildS } = await loadAsWorker(file, size);
  const listed = index.hashes;
  // Array buffers are released by a sweeper after the collection: give it a moment.
  for (let i = 0; i < 3; i++) {
    global.gc?.();
    await new Promise((r) => setTimeout(r, 200));
  }
  const rss = process.memoryUsage().rss;
  const qs = makeQueries(listed, size, queries, 4);
  timeQueries(index, qs.slice(0, 200), radius);
  const run = timeQueries(index, qs, radius);
  const floor = floorTimes(index, qs, radius, run);
  const figures: BigFigures = {
    size,
    key_bits: index.keyBits,
    slots: index.slotCount,
    parse_s: r3(parseS),
    build_s: r3(buildS),
    load_total_s: r3(parseS + buildS),
    rss_mb: Math.round(rss / 2 ** 20),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    bytes_per_hash: r3((listed.byteLength + index.indexBytes) / size),
    query_p50_ms: r3(median(run.times)),
    query_p99_ms: r3(quantile(run.times, 0.99)),
    query_cpu_p50_ms: r3(median(run.cpu)),
    query_cpu_p99_ms: r3(quantile(run.cpu, 0.99)),
    floor_p50_ms: r3(median(floor)),
    floor_p99_ms: r3(quantile(floor, 0.99)),
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

const argv = process.argv.slice(2);
const childAt = argv.indexOf('--child-big');
const main =
  childAt >= 0
    ? runBig(
        argv[argv.indexOf('--file') + 1]!,
        Number(argv[childAt + 1]),
        Number(argv[argv.indexOf('--queries') + 1]),
        Number(argv[argv.indexOf('--radius') + 1]),
      )
    : runMain(parseArgs(argv));
main.catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
