/**
 * `npm run eval:benign [-- --minutes N --scenes a,b --concurrency C --out FILE]`
 *
 * Streams benign generated videos through the real worker (nats-server, ffmpeg sampler, PDQ, the
 * deployed ONNX classifiers, the policy) and reports escalations per stream-hour by priority,
 * with the per-frame scores, so the policy's defaults can be chosen from measurements. The
 * recorded scores are then replayed through the pure policy with other smoothing settings
 * (k of n) to show what each would have paged.
 *
 * Scenes are drawn by ffmpeg's lavfi sources: test patterns, fractals, cellular automata,
 * gradients (some in skin tones: the hard case for a nudity model), bars, moving drawn shapes.
 * Never sexual content, never images of people. Clips are cached in bench-results/eval-clips/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { jetstream } from '@nats-io/jetstream';
import { pino } from 'pino';
import { loadConfig, type PolicyOptions } from '../src/config/index.js';
import type { CaseEvent, KillSwitchEvent } from '../src/contracts/index.js';
import type { FrameSignals } from '../src/domain/signals.js';
import { startWorker } from '../src/worker/app/start-worker.js';
import { decide, INITIAL_POLICY_STATE, type PolicyState } from '../src/worker/policy/index.js';
import { readSignals } from '../src/worker/policy/rules.js';
import { LEVEL, pushLevel, smoothedPriority } from '../src/worker/policy/smoothing.js';
import { collectEvents } from '../test/support/jetstream-events.js';
import { defaultFfmpegPath } from '../test/support/live-source.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { policyOptions } from '../test/support/stage-options.js';

const W = 320;
const H = 240;
/** Clips are drawn at 2 fps (the sampler takes 1): cheap to decode, every sampled second a new picture. */
const CLIP_FPS = 2;

/** lavfi source graphs, each `size`/`rate` given. Benign by construction: patterns, maths, colour. */
const SCENES: Record<string, string> = {
  testsrc2: `testsrc2=size=${W}x${H}:rate=${CLIP_FPS}`,
  mandelbrot: `mandelbrot=size=${W}x${H}:rate=${CLIP_FPS}`,
  life: `life=size=${W}x${H}:rate=${CLIP_FPS}:mold=10:life_color=#c08060:death_color=#202020`,
  cellauto: `cellauto=size=${W}x${H}:rate=${CLIP_FPS}:rule=110`,
  gradients: `gradients=size=${W}x${H}:rate=${CLIP_FPS}:speed=0.05`,
  'skin-gradients': `gradients=size=${W}x${H}:rate=${CLIP_FPS}:c0=0xf1c27d:c1=0xc68642:c2=0x8d5524:c3=0xe0ac69:nb_colors=4:speed=0.03`,
  smptebars: `smptebars=size=${W}x${H}:rate=${CLIP_FPS}`,
  colorspectrum: `colorspectrum=size=${W}x${H}:rate=${CLIP_FPS}:type=all`,
  sierpinski: `sierpinski=size=${W}x${H}:rate=${CLIP_FPS}`,
  // The test card's shapes (the face detector finds "faces" in them) averaged with skin-tone gradients.
  'pattern-on-skin':
    `testsrc2=size=${W}x${H}:rate=${CLIP_FPS}[a];` +
    `gradients=size=${W}x${H}:rate=${CLIP_FPS}:c0=0xf1c27d:c1=0xc68642:c2=0x8d5524:c3=0xe0ac69:nb_colors=4:speed=0.03[b];` +
    `[a][b]blend=all_mode=average[out0]`,
  // A small test card (where the face detector finds "faces", with young apparent ages) over skin-tone gradients.
  'card-on-skin':
    `gradients=size=${W}x${H}:rate=${CLIP_FPS}:c0=0xf1c27d:c1=0xc68642:c2=0x8d5524:c3=0xe0ac69:nb_colors=4:speed=0.03[b];` +
    `testsrc2=size=128x96:rate=${CLIP_FPS}[a];` +
    `[b][a]overlay=x=96:y=72[out0]`,
  // Moving discs in skin tones on a dark ground: drawn shapes, the kind of frame a nudity model can mistake.
  'skin-shapes':
    `nullsrc=size=${W}x${H}:rate=${CLIP_FPS},geq=` +
    `r='if(lt(hypot(X-160-90*sin(T/7),Y-120-70*cos(T/5)),55)+lt(hypot(X-100-60*cos(T/3),Y-80-40*sin(T/4)),35),224,40)':` +
    `g='if(lt(hypot(X-160-90*sin(T/7),Y-120-70*cos(T/5)),55)+lt(hypot(X-100-60*cos(T/3),Y-80-40*sin(T/4)),35),172,35)':` +
    `b='if(lt(hypot(X-160-90*sin(T/7),Y-120-70*cos(T/5)),55)+lt(hypot(X-100-60*cos(T/3),Y-80-40*sin(T/4)),35),138,45)'`,
};

/** Smoothing settings replayed on the recorded scores: none, and candidates around the default. */
const CANDIDATES: ReadonlyArray<readonly [number, number]> = [
  [1, 1],
  [2, 3],
  [2, 5],
  [3, 5],
  [4, 6],
  [5, 8],
];

interface FrameRecord {
  readonly seq: number;
  readonly pts: number;
  readonly signals: FrameSignals;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '6' },
      scenes: { type: 'string' },
      concurrency: { type: 'string', default: '2' },
      out: { type: 'string' },
    },
  });
  const minutes = Number(values.minutes);
  const scenes = values.scenes ? values.scenes.split(',') : Object.keys(SCENES);
  for (const s of scenes) if (!SCENES[s]) throw new Error(`unknown scene '${s}' (${Object.keys(SCENES).join(', ')})`);
  const clipDir = resolve('bench-results/eval-clips');
  mkdirSync(clipDir, { recursive: true });
  const clips = Object.fromEntries(scenes.map((s) => [s, clip(clipDir, s, minutes)]));

  const nats = await startNatsServer();
  const nc = await nats.connect();
  const frames = new Map<string, FrameRecord[]>(scenes.map((s) => [`benign-${s}`, []]));
  const finished = new Set<string>();
  let reassigned = 0;
  let onFinish = () => {};
  const dir = mkdtempSync(join(tmpdir(), 'streamscreen-eval-'));
  const loaded = loadConfig({
    env: { NATS_URL: nats.url, PATH: process.env.PATH },
    cwd: dir,
    overrides: {
      worker: { id: 'eval', maxStreams: Number(values.concurrency) },
      // Files are read as fast as they decode: every sampled frame is kept for the classifiers, none is shed as late.
      sampler: { allowFiles: true, fileRealtime: false, maxQueuedFrames: 100_000 },
      pipeline: { frameBudgetMs: 3_600_000, classifyEveryFrame: true },
      // Generous leases: a 2-core machine decoding files flat out can starve a heartbeat for seconds.
      ingest: { leaseTtlMs: 30_000, ackWaitMs: 30_000 },
      metrics: { enabled: false },
      log: { level: 'warn' },
    },
  });
  const policy = loaded.stages.policy;
  const started = Date.now();
  const worker = await startWorker(loaded, pino({ level: 'warn' }), {
    listeners: {
      'pipeline.signals': (e) => frames.get(e.streamId)?.push({ seq: e.seq, pts: e.pts, signals: e.signals }),
      // A stream taken again (a lease lost on a starved machine) is read from its start again: keep one pass.
      'intake.assigned': (e) => {
        if (e.deliveryCount > 1 || e.tookOverFrom) reassigned++;
        frames.get(e.streamId)?.splice(0);
      },
      'intake.finished': (e) => {
        finished.add(e.streamId);
        onFinish();
      },
    },
  });
  const cases = await collectEvents<CaseEvent>(nc, 'SCREENING_CASES', 'screening.escalation.*.*');
  const kills = await collectEvents<KillSwitchEvent>(nc, 'SCREENING_DECISIONS', 'screening.killswitch.>');
  const js = jetstream(nc);
  for (const s of scenes) await js.publish(`streams.started.benign-${s}`, JSON.stringify({ streamId: `benign-${s}`, url: clips[s] }));
  await new Promise<void>((done) => {
    onFinish = () => {
      if (scenes.every((s) => finished.has(`benign-${s}`))) done();
    };
    onFinish();
  });
  const wallS = (Date.now() - started) / 1000;
  await cases.stop();
  await kills.stop();
  await worker.stop(0);
  await nc.close();
  await nats.stop();

  const report = summarise(scenes, frames, cases.events, kills.events, policy, wallS, minutes);
  if (reassigned)
    process.stderr.write(`eval:benign: ${reassigned} stream(s) were taken again after a lost lease; their frames are from the last pass\n`);
  const out = resolve(values.out ?? `bench-results/eval-benign-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(out, `${JSON.stringify({ ...report, frames: Object.fromEntries(frames) }, null, 1)}\n`);
  process.stdout.write(`${report.markdown}\nper-frame scores: ${out}\n`);
}

function clip(dir: string, scene: string, minutes: number): string {
  const file = join(dir, `${scene}-${minutes}m.mp4`);
  if (existsSync(file)) return file;
  const r = spawnSync(
    defaultFfmpegPath(),
    [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      SCENES[scene]!,
      '-t',
      String(minutes * 60),
      '-pix_fmt',
      'yuv420p',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-y',
      file,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  if (r.status !== 0) throw new Error(`ffmpeg could not draw ${scene}: ${r.stderr.toString()}`);
  return file;
}

const PRIORITIES = ['critical', 'high', 'normal'] as const;

function summarise(
  scenes: string[],
  frames: Map<string, FrameRecord[]>,
  cases: CaseEvent[],
  kills: KillSwitchEvent[],
  policy: PolicyOptions,
  wallS: number,
  minutes: number,
) {
  const all = [...frames.values()].flat();
  const hours = all.length / 3600; // 1 sampled frame per stream-second
  const perHour = (n: number) => (hours > 0 ? +(n / hours).toFixed(2) : 0);
  const pages = cases.filter((c) => c.type === 'case_opened' || (c.type === 'case_updated' && c.change.includes('priority_raised')));
  const byPriority = Object.fromEntries(PRIORITIES.map((p) => [p, pages.filter((c) => c.priority === p).length]));

  const scenesOut = scenes.map((s) => {
    const f = frames.get(`benign-${s}`) ?? [];
    const explicit = f.map((x) => Math.min(1, (x.signals.nudity?.porn ?? 0) + (x.signals.nudity?.hentai ?? 0))).sort((a, b) => a - b);
    const ages = f.flatMap((x) => (x.signals.faces ?? []).map((face) => face.age)).filter(Number.isFinite);
    const readings = f.map((x) => readSignals(x.signals, policy).find((r) => r.signal === 'explicit'));
    return {
      scene: s,
      frames: f.length,
      explicit: {
        max: q(explicit, 1),
        p99: q(explicit, 0.99),
        p95: q(explicit, 0.95),
        mean: +(explicit.reduce((a, b) => a + b, 0) / Math.max(1, explicit.length)).toFixed(4),
      },
      framesWithFaces: f.filter((x) => (x.signals.faces?.length ?? 0) > 0).length,
      minApparentAge: ages.length ? +Math.min(...ages).toFixed(1) : null,
      framesOverThreshold: {
        normal: readings.filter((r) => r?.level === 'normal').length,
        critical: readings.filter((r) => r?.level === 'critical').length,
      },
      pages: pages
        .filter((c) => c.streamId === `benign-${s}`)
        .map((c) => ({ type: c.type, priority: c.priority, rule: c.policy.rule, seq: c.frame?.seq })),
    };
  });

  const replay = CANDIDATES.map(([k, n]) => {
    const o: PolicyOptions = { ...policyOptions({ ...policy, smoothing: { k, n } }), version: 'replay' };
    let opened = 0;
    let raised = 0;
    let episodes = 0;
    const byP: Record<string, number> = { critical: 0, high: 0, normal: 0 };
    for (const [streamId, f] of frames) {
      let state: PolicyState = INITIAL_POLICY_STATE;
      let window: number[] | undefined;
      let firing = false;
      for (const x of f) {
        const ref = () => ({ seq: x.seq, pts: x.pts, capturedAt: new Date(x.seq * 1000).toISOString() });
        const r = decide(
          state,
          { capturedAt: x.seq * 1000, seq: x.seq, matches: [], signals: x.signals, ref },
          { streamId, runId: 'replay', workerId: 'replay', metadata: {} },
          o,
          x.seq * 1000,
        );
        state = r.state;
        for (const e of r.effects) {
          if (e.kind !== 'case' || !e.page) continue;
          if (e.type === 'case_opened') opened++;
          else raised++;
          byP[e.record.priority]!++;
        }
        // Episodes: how often the k-of-n condition starts to hold (each would open a case if none were open).
        const reading = readSignals(x.signals, o).find((rd) => rd.signal === 'explicit');
        window = pushLevel(window, LEVEL[reading?.level ?? 'none'], n);
        const now = smoothedPriority(window, k) !== undefined;
        if (now && !firing) episodes++;
        firing = now;
      }
    }
    return {
      k,
      n,
      pagesPerStreamHour: { critical: perHour(byP.critical!), high: perHour(byP.high!), normal: perHour(byP.normal!) },
      opened,
      raised,
      episodesPerStreamHour: perHour(episodes),
    };
  });

  const lines = [
    `## eval:benign — ${scenes.length} scenes x ${minutes} min, ${all.length} sampled frames (${hours.toFixed(2)} stream-hours), ${wallS.toFixed(0)} s wall`,
    '',
    `Worker with the deployed classifiers and policy ${policy.version} (smoothing ${policy.smoothing.k} of ${policy.smoothing.n}):`,
    `pages ${pages.length} (${PRIORITIES.map((p) => `${p} ${byPriority[p]}`).join(', ')}) = ${perHour(pages.length)} per stream-hour; kill-switches ${kills.length}`,
    '',
    '| scene | frames | explicit max | p99 | p95 | mean | frames >= normal / critical | faces | min age | pages |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...scenesOut.map(
      (s) =>
        `| ${s.scene} | ${s.frames} | ${s.explicit.max} | ${s.explicit.p99} | ${s.explicit.p95} | ${s.explicit.mean} | ${s.framesOverThreshold.normal} / ${s.framesOverThreshold.critical} | ${s.framesWithFaces} | ${s.minApparentAge ?? '-'} | ${s.pages.map((p) => `${p.priority}@${p.seq}`).join(' ') || '-'} |`,
    ),
    '',
    'Replayed through the policy with other smoothing (pages per stream-hour; episodes = times the k-of-n condition starts to hold):',
    '',
    '| k of n | critical | high | normal | episodes/h |',
    '|---|---|---|---|---|',
    ...replay.map(
      (r) =>
        `| ${r.k} of ${r.n} | ${r.pagesPerStreamHour.critical} | ${r.pagesPerStreamHour.high} | ${r.pagesPerStreamHour.normal} | ${r.episodesPerStreamHour} |`,
    ),
  ];
  return {
    policy: policy.version,
    smoothing: policy.smoothing,
    streamHours: +hours.toFixed(3),
    wallSeconds: wallS,
    pages: byPriority,
    killSwitches: kills.length,
    scenes: scenesOut,
    replay,
    markdown: lines.join('\n'),
  };
}

function q(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return +sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))]!.toFixed(4);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`eval:benign: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
