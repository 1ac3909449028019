/**
 * What cases and evidence cost per frame, against the work every frame already does (PDQ
 * hashing of the same 512x512 frame), measured in one run, medians of repeated rounds:
 *
 * - hash path: FrameRing.push + decide() with no match (what every frame pays for cases);
 * - classifier path: decide() with classifier signals under threshold, and over it with a case
 *   open (score history kept, no event);
 * - evidence capture (off the frame path, once per case / priority raise / kill-switch): the
 *   blurred + clear renditions of a 6-frame storyboard and the original of the decisive frame,
 *   sealed with AES-256-GCM.
 *
 * The ring keeps references to the sampler's buffers: its memory is storyboardFrames x frame
 * bytes per stream (printed), and it copies nothing per frame.
 *
 * Usage: npm run bench:cases [-- --rounds 15 --frames 200]
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { RawFrame } from '../src/domain/frame.js';
import { sealEvidence } from '../src/domain/evidence-envelope.js';
import { createPdqHasher } from '../src/hash/pdq-hasher.js';
import { renderFrame } from '../src/worker/evidence/renditions.js';
import { FrameRing } from '../src/worker/pipeline/frame-ring.js';
import { decide, INITIAL_POLICY_STATE, type PolicyState } from '../src/worker/policy/index.js';
import { resolveConfig } from '../src/config/index.js';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const ROUNDS = arg('rounds', 15);
const FRAMES = arg('frames', 200);
const SIDE = 512;

function drawnFrame(seq: number): RawFrame {
  const data = Buffer.alloc(SIDE * SIDE * 3);
  for (let i = 0; i < data.length; i += 3) {
    const x = (i / 3) % SIDE;
    const y = Math.floor(i / 3 / SIDE);
    data[i] = (x + seq * 7) & 255;
    data[i + 1] = (y * 2) & 255;
    data[i + 2] = ((x ^ y) + seq) & 255;
  }
  return { streamId: 'bench', seq, pts: seq, capturedAt: seq * 1000, width: SIDE, height: SIDE, data };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const { policy, evidence } = resolveConfig({ evidence: { keys: { k: randomBytes(32).toString('base64') } } }).stages;
  const frames = Array.from({ length: 8 }, (_, i) => drawnFrame(i));
  const hasher = createPdqHasher();
  const ctx = { streamId: 'bench', runId: 'r', workerId: 'w', metadata: {} };
  const ref = (seq: number) => () => ({ seq, pts: seq, capturedAt: new Date(seq * 1000).toISOString() });
  const low = { nudity: { porn: 0.02, neutral: 0.98 }, faces: [] };
  const high = { nudity: { porn: 0.97, neutral: 0.03 }, faces: [] };

  const perFrameUs = (fn: (i: number) => void): number => {
    const rounds: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const t = performance.now();
      for (let i = 0; i < FRAMES; i++) fn(i);
      rounds.push(((performance.now() - t) * 1000) / FRAMES);
    }
    return median(rounds);
  };

  const pdqUs = perFrameUs((i) => hasher.hash(frames[i % frames.length]!));
  const ring = new FrameRing(evidence.storyboardFrames);
  let state: PolicyState = INITIAL_POLICY_STATE;
  const hashPathUs = perFrameUs((i) => {
    const f = frames[i % frames.length]!;
    ring.push({ frame: f });
    state = decide(state, { capturedAt: f.capturedAt, seq: i, matches: [], ref: ref(i) }, ctx, policy, i * 1000).state;
  });
  state = INITIAL_POLICY_STATE;
  const quietUs = perFrameUs((i) => {
    state = decide(state, { capturedAt: i * 1000, seq: i, matches: [], signals: low, ref: ref(i) }, ctx, policy, i * 1000).state;
  });
  // A case open and the signal on every frame: the score history grows to its cap, updates are rate-limited.
  state = INITIAL_POLICY_STATE;
  let t = 0;
  const openCaseUs = perFrameUs((i) => {
    t += 1000;
    state = decide(state, { capturedAt: t, seq: i, matches: [], signals: high, ref: ref(i) }, ctx, policy, t).state;
  });

  const key = evidence.sealWith!;
  const captureMs: number[] = [];
  for (let r = 0; r < Math.max(3, Math.floor(ROUNDS / 3)); r++) {
    const t0 = performance.now();
    for (const [i, f] of frames.slice(0, evidence.storyboardFrames).entries()) {
      for (const img of await renderFrame(f, evidence, i === evidence.storyboardFrames - 1)) sealEvidence(img.bytes, key);
    }
    captureMs.push(performance.now() - t0);
  }

  const result = {
    machine: { cpus: cpus().length, loadavg: loadavg().map((l) => +l.toFixed(2)) },
    frame: `${SIDE}x${SIDE} RGB`,
    rounds: ROUNDS,
    framesPerRound: FRAMES,
    pdq_hash_us: +pdqUs.toFixed(1),
    ring_push_and_decide_no_match_us: +hashPathUs.toFixed(2),
    decide_signals_quiet_us: +quietUs.toFixed(2),
    decide_signals_case_open_us: +openCaseUs.toFixed(2),
    ratio_hash_path_vs_pdq: +(hashPathUs / pdqUs).toFixed(5),
    ratio_case_open_vs_pdq: +(openCaseUs / pdqUs).toFixed(5),
    evidence_capture_ms_median: +median(captureMs).toFixed(1),
    ring_bytes_per_stream: evidence.storyboardFrames * SIDE * SIDE * 3,
  };
  await mkdir('bench-results', { recursive: true });
  await writeFile('bench-results/cases.json', `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

await main();
