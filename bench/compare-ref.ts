/**
 * A/B regression check: runs this tree's hash and classifier benchmarks and those of another git
 * ref (default: the commit before the architecture move) in the same run, alternating A and B
 * so load on the machine hits both alike, and prints the median of each key figure and the ratio
 * B/A (> 1 means this tree is slower). A refactor is judged by these ratios, not by absolute
 * times, which vary by tens of percent between runs on a shared 2-core machine.
 *
 *   npm run bench:compare [-- --ref <git ref> --rounds 3]
 *
 * The 10M-hash part is skipped (BENCH_HASH_BIG=0): it measures memory and build time of code
 * a refactor does not touch, and takes minutes. Writes bench-results/compare.json.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Side {
  readonly name: string;
  readonly dir: string;
}

/** The figures compared, as dotted paths into hash.json / classify.json (`_fps` compared as ms per frame). */
const FIGURES: ReadonlyArray<readonly [file: 'hash' | 'classify', path: string]> = [
  ['hash', 'pdq_ms_median_512'],
  ['hash', 'index_query_p50_ms_1m'],
  ['hash', 'index_query_p99_ms_1m'],
  ['classify', 'onnx_fps'],
  ['classify', 'face_age_ms_median'],
  ['classify', 'composite_from_512_frame_ms_median'],
];

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

function benchScript(dir: string, name: string): string {
  for (const folder of ['bench', 'scripts']) {
    const file = join(dir, folder, `${name}.ts`);
    if (existsSync(file)) return file;
  }
  throw new Error(`no ${name}.ts under ${dir}/bench or ${dir}/scripts`);
}

function pick(obj: unknown, path: string): number | null {
  let v: unknown = obj;
  for (const key of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  return typeof v === 'number' ? v : null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function runBench(side: Side, name: 'bench-hash' | 'bench-classify', extra: string[]): unknown {
  const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
  const r = spawnSync(tsx, [benchScript(side.dir, name), ...extra], {
    cwd: side.dir,
    env: { ...process.env, BENCH_HASH_BIG: '0' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`${side.name} ${name} exited with ${r.status}`);
  const file = join(side.dir, 'bench-results', name === 'bench-hash' ? 'hash.json' : 'classify.json');
  return JSON.parse(readFileSync(file, 'utf8')) as unknown;
}

function main(): void {
  const ref = arg('ref', '976b5ea');
  const rounds = Number(arg('rounds', '3'));
  const base = mkdtempSync(join(tmpdir(), 'streamscreen-ab-'));
  const refDir = join(base, 'ref');
  execFileSync('git', ['-C', ROOT, 'worktree', 'add', '--detach', refDir, ref], { stdio: 'ignore' });
  try {
    symlinkSync(join(ROOT, 'node_modules'), join(refDir, 'node_modules'));
    rmSync(join(refDir, 'models'), { recursive: true, force: true });
    symlinkSync(join(ROOT, 'models'), join(refDir, 'models'));
    const sides: Side[] = [
      { name: `ref ${ref}`, dir: refDir },
      { name: 'this tree', dir: ROOT },
    ];
    const samples = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const side of round % 2 ? [...sides].reverse() : sides) {
        process.stderr.write(`round ${round + 1}/${rounds}: ${side.name}\n`);
        const results = {
          hash: runBench(side, 'bench-hash', ['--size', '1000000', '--queries', '1000', '--scan-queries', '50']),
          classify: runBench(side, 'bench-classify', []),
        };
        for (const [file, path] of FIGURES) {
          const raw = pick(results[file], path);
          // Frames per second become ms per frame, so every ratio reads the same way (> 1 slower).
          const v = raw !== null && path.endsWith('_fps') ? 1000 / raw : raw;
          if (v === null) continue;
          const key = `${side.name}|${file}.${path}`;
          samples.set(key, [...(samples.get(key) ?? []), v]);
        }
      }
    }
    const rows = FIGURES.map(([file, path]) => {
      const a = samples.get(`${sides[0]!.name}|${file}.${path}`);
      const b = samples.get(`${sides[1]!.name}|${file}.${path}`);
      const ma = a?.length ? median(a) : null;
      const mb = b?.length ? median(b) : null;
      return { figure: `${file}.${path}`, ref_median: ma, this_median: mb, ratio: ma && mb ? Math.round((mb / ma) * 1000) / 1000 : null };
    });
    const out = { ref, rounds, cpus: cpus().length, cpu: cpus()[0]?.model, rows };
    mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench-results', 'compare.json'), `${JSON.stringify(out, null, 2)}\n`);
    for (const r of rows)
      console.log(
        `${r.figure.padEnd(48)} ref ${String(r.ref_median).padStart(8)}  this ${String(r.this_median).padStart(8)}  ratio ${r.ratio}`,
      );
  } finally {
    execFileSync('git', ['-C', ROOT, 'worktree', 'remove', '--force', refDir], { stdio: 'ignore' });
    rmSync(base, { recursive: true, force: true });
  }
}

main();
