/**
 * The face/age cascade: what the composite classifier costs per 512x512 frame when the face/age
 * model runs only where apparent age can change a decision (policy/face-gate.ts, the worker's
 * default) against running it on every frame (the baseline), measured in the same run on the
 * same frames, interleaved frame by frame so machine drift hits both alike. Medians.
 *
 * The frames are benign (the PDQ test photographs, some with people, and synthetic frames): as
 * on a real platform, nearly all frames score far below the explicit floor, so nearly all skip
 * faces. The share of frames that still ran faces is reported beside the saving.
 *
 * Writes bench-results/cascade.json. Usage: npm run bench:cascade [-- --rounds N]
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { resolveConfig } from '../src/config/index.js';
import type { RgbImage } from '../src/domain/frame.js';
import { openClassifier } from '../src/worker/classify/classifier.js';
import { faceAgeFactory } from '../src/worker/classify/load-face-part.js';
import { faceGate } from '../src/worker/policy/index.js';
import { ensureModels, repoRoot } from '../tools/model-builder/build-models.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');

const median = (v: readonly number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round2 = (v: number): number => Math.round(v * 100) / 100;

async function frames(): Promise<RgbImage[]> {
  const dir = join(repoRoot(), '..', 'shared', 'pdq-vectors', 'decoded');
  const out: RgbImage[] = [];
  if (existsSync(dir)) {
    for (const f of readdirSync(dir)
      .filter((n) => n.endsWith('.png'))
      .sort()) {
      const { data, info } = await sharp(join(dir, f))
        .removeAlpha()
        .resize(512, 512, { fit: 'fill' })
        .raw()
        .toBuffer({ resolveWithObject: true });
      out.push({ width: info.width, height: info.height, data });
    }
  }
  // Synthetic gradients and noise as well, so the run does not depend on ../shared alone.
  for (let k = 0; k < 4; k++) {
    const data = new Uint8Array(512 * 512 * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * (k + 3) + (i >> 9) * 7 * (k + 1)) & 255;
    out.push({ width: 512, height: 512, data });
  }
  return out;
}

async function main(): Promise<void> {
  await ensureModels();
  const { config, stages } = resolveConfig({});
  const floor = config.classify.facesNudityFloor ?? stages.policy.nudityWithMinorEscalateAt;
  const options = { ...stages.classifier, warmUp: true };
  const all = await openClassifier({ faceAge: faceAgeFactory, options });
  let facesRan = 0;
  const gate = faceGate(stages.policy, floor);
  const cascaded = await openClassifier({
    faceAge: faceAgeFactory,
    faceGate: (s) => {
      const run = gate(s);
      if (run) facesRan++;
      return run;
    },
    options,
  });
  const images = await frames();
  // One untimed pass each (first-frame effects).
  for (const img of images.slice(0, 2)) {
    await all.classify(img);
    await cascaded.classify(img);
  }
  facesRan = 0;
  const times = { all: [] as number[], cascade: [] as number[] };
  for (let r = 0; r < rounds; r++) {
    for (const [i, img] of images.entries()) {
      // Alternate which goes first.
      const order: ('all' | 'cascade')[] = (r + i) % 2 ? ['all', 'cascade'] : ['cascade', 'all'];
      for (const which of order) {
        const c = which === 'all' ? all : cascaded;
        const t0 = performance.now();
        await c.classify(img);
        times[which].push(performance.now() - t0);
      }
    }
  }
  await all.close();
  await cascaded.close();

  const frameCount = rounds * images.length;
  const result = {
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg1: round2(loadavg()[0]!) },
    frames: images.length,
    rounds,
    explicit_floor: floor,
    ms_per_frame_faces_every_frame: round2(median(times.all)),
    ms_per_frame_cascade: round2(median(times.cascade)),
    ratio: round2(median(times.all) / median(times.cascade)),
    saving_pct: round2((1 - median(times.cascade) / median(times.all)) * 100),
    share_of_frames_running_faces: round2(facesRan / frameCount),
  };
  console.log(
    `classify per 512x512 frame: faces on every frame ${result.ms_per_frame_faces_every_frame} ms, ` +
      `cascade ${result.ms_per_frame_cascade} ms (${result.ratio}x, ${result.saving_pct} % saved); ` +
      `faces ran on ${Math.round(result.share_of_frames_running_faces * 100)} % of ${frameCount} frames (load average ${result.machine.loadavg1})`,
  );
  const out = join(repoRoot(), 'bench-results');
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'cascade.json'), JSON.stringify(result, null, 2) + '\n');
}

await main();
