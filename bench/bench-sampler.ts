/**
 * The worker's per-stream hot path, this tree against a git ref in the same run: N live 720p30
 * RTMP streams (nginx-rtmp on 127.0.0.1, sources looped with `-c copy` from the load benchmark's
 * clip) sampled by the sampler and PDQ-hashed on the main thread, with nothing else in the
 * process (no NATS, no models), so what is measured is the sampler's own cost. Each side runs as
 * its own process (bench/sampler/drive.ts) on the same sources; sides alternate round by round so
 * the load of a shared machine hits both alike. Prints the medians per side and the ratio
 * this/ref (< 1: this tree is cheaper):
 *
 *   - CPU per stream, % of one core: the whole tree, and by role (main thread, other node threads,
 *     remuxer, keyframe decoder, full decoder)
 *   - main-thread CPU per frame (ms) and event-loop utilisation
 *
 *   npm run bench:sampler [-- --ref main --streams 12 --seconds 20 --warmup 6 --rounds 3 --decode auto]
 *
 * Writes bench-results/sampler.json. BENCH_SAMPLER_NODE_OPTIONS (space-separated) go to each side's
 * node, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startNginxRtmp } from '../test/support/nginx-rtmp.js';
import { ensureClip } from './load/inputs.js';
import { startPublisher } from './load/publishers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    ref: { type: 'string', default: 'main' },
    streams: { type: 'string', default: '12' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '3' },
    decode: { type: 'string', default: 'auto' },
  },
});
const streams = Number(values.streams);
const rounds = Number(values.rounds);
if (!['auto', 'keyframes', 'all'].includes(values.decode)) throw new Error('--decode: auto, keyframes or all');

interface DriveResult {
  readonly frames: number;
  readonly seconds: number;
  readonly cpu_s: Record<string, number>;
  readonly elu: number;
  readonly hash_ms: number;
  readonly keyframe_streams: number;
  readonly restarts: number;
}

/** The figures compared, each lower-is-better. */
interface Figures {
  cpu_pct_per_stream: number;
  main_thread_pct_per_stream: number;
  node_threads_pct_per_stream: number;
  remuxer_pct_per_stream: number;
  decoder_pct_per_stream: number;
  main_thread_ms_per_frame: number;
  event_loop_utilisation: number;
}

function drive(dir: string, url: string): Promise<DriveResult> {
  const nodeOptions = (process.env.BENCH_SAMPLER_NODE_OPTIONS ?? '').split(' ').filter((a) => a.length > 0);
  const args = [
    ...nodeOptions,
    '--import',
    'tsx',
    join(ROOT, 'bench/sampler/drive.ts'),
    '--src',
    dir,
    '--url',
    url,
    '--streams',
    String(streams),
  ];
  args.push('--seconds', values.seconds, '--warmup', values.warmup, '--decode', values.decode);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`driver exited with ${code}: ${out.slice(-500)}`));
      else resolve(JSON.parse(line) as DriveResult);
    });
  });
}

function figures(r: DriveResult): Figures {
  const pct = (s: number): number => (s / r.seconds / streams) * 100;
  const total = Object.values(r.cpu_s).reduce((a, b) => a + b, 0);
  return {
    cpu_pct_per_stream: pct(total),
    main_thread_pct_per_stream: pct(r.cpu_s.main_thread ?? 0),
    node_threads_pct_per_stream: pct(r.cpu_s.node_threads ?? 0),
    remuxer_pct_per_stream: pct(r.cpu_s.remuxer ?? 0),
    decoder_pct_per_stream: pct((r.cpu_s.keyframe_decoder ?? 0) + (r.cpu_s.full_decoder ?? 0)),
    main_thread_ms_per_frame: r.frames > 0 ? ((r.cpu_s.main_thread ?? 0) * 1000) / r.frames : Number.NaN,
    event_loop_utilisation: r.elu,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const r3 = (v: number): number => Math.round(v * 1000) / 1000;

async function main(): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'streamscreen-bench-sampler-'));
  const refDir = join(base, 'ref');
  execFileSync('git', ['-C', ROOT, 'worktree', 'add', '--detach', refDir, values.ref], { stdio: 'ignore' });
  symlinkSync(join(ROOT, 'node_modules'), join(refDir, 'node_modules'));
  const clip = await ensureClip('/usr/bin/ffmpeg', { seconds: 20, gopSeconds: 2 });
  const rtmp = await startNginxRtmp();
  const publishers = Array.from({ length: streams }, (_, i) => startPublisher('/usr/bin/ffmpeg', clip, rtmp.rtmpUrl('live', `s${i}`)));
  const sides = [
    { name: `ref ${values.ref}`, dir: refDir },
    { name: 'this tree', dir: ROOT },
  ];
  const samples = new Map<string, Figures[]>(sides.map((s) => [s.name, []]));
  const load0 = loadavg()[0]!;
  try {
    await new Promise((r) => setTimeout(r, 2000));
    for (let round = 0; round < rounds; round++) {
      for (const side of round % 2 ? [...sides].reverse() : sides) {
        const r = await drive(side.dir, rtmp.rtmpUrl('live', 's'));
        const f = figures(r);
        samples.get(side.name)!.push(f);
        console.log(
          `round ${round + 1}/${rounds} ${side.name}: ${r.frames} frames, CPU ${f.cpu_pct_per_stream.toFixed(2)} %/stream ` +
            `(main ${f.main_thread_pct_per_stream.toFixed(2)}, threads ${f.node_threads_pct_per_stream.toFixed(2)}, ` +
            `remuxer ${f.remuxer_pct_per_stream.toFixed(2)}, decoder ${f.decoder_pct_per_stream.toFixed(2)}), ` +
            `main ${f.main_thread_ms_per_frame.toFixed(2)} ms/frame, ELU ${f.event_loop_utilisation.toFixed(3)}, ` +
            `keyframe streams ${r.keyframe_streams}/${streams}, restarts ${r.restarts}`,
        );
      }
    }
  } finally {
    await Promise.all(publishers.map((p) => p.stop()));
    await rtmp.stop();
    execFileSync('git', ['-C', ROOT, 'worktree', 'remove', '--force', refDir], { stdio: 'ignore' });
    rmSync(base, { recursive: true, force: true });
  }
  const keys = Object.keys(samples.get(sides[0]!.name)![0]!) as (keyof Figures)[];
  const rows = keys.map((k) => {
    const ref = median(samples.get(sides[0]!.name)!.map((f) => f[k]));
    const mine = median(samples.get(sides[1]!.name)!.map((f) => f[k]));
    return { figure: k, ref_median: r3(ref), this_median: r3(mine), ratio: ref > 0 ? r3(mine / ref) : null };
  });
  console.log(`\nmedians of ${rounds} rounds, ${streams} streams, decode ${values.decode} (ratio this/ref: < 1 is cheaper)`);
  for (const r of rows)
    console.log(
      `${r.figure.padEnd(30)} ref ${String(r.ref_median).padStart(8)}  this ${String(r.this_median).padStart(8)}  ratio ${r.ratio}`,
    );
  const out = {
    ref: values.ref,
    streams,
    decode: values.decode,
    rounds,
    seconds: Number(values.seconds),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg_1m_before: load0, loadavg_1m_after: loadavg()[0] },
    rows,
  };
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench-results', 'sampler.json'), `${JSON.stringify(out, null, 2)}\n`);
}

await main();
