/**
 * Which frame size should the sampler ask ffmpeg for? For each candidate ffmpeg scale filter,
 * hash the benign shared PDQ test images (../shared/pdq-vectors/decoded) as ffmpeg delivers them
 * (rgb24 on a pipe) and compare with the hash of the full-resolution image, i.e. what Meta's
 * reference computes for the same picture and what hash lists are built from. Prints Hamming
 * distance figures per candidate, over images with quality >= 50 (the reference's own cut-off
 * for matching) and over all.
 *
 *   npx tsx bench/bench-pdq-scale.ts [ffmpeg]
 *
 * test/hash/pdq-frame-size.test.ts samples the same images with the sampler's own ffmpeg argv
 * (DEFAULT_SAMPLER_OPTIONS: shrink to 512x512, area) and asserts the bound for that choice.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createPdqHasher } from '../src/hash/pdq-hasher.js';
import { hammingDistance } from '../src/domain/pdq.js';
import { readRgbImage } from '../src/worker/sampler/image-file.js';
import type { RgbImage } from '../src/domain/frame.js';

const run = promisify(execFile);

export interface ScaleCandidate {
  readonly name: string;
  /** ffmpeg -vf value; must produce exactly width x height (or compute them from the source). */
  readonly filter: (w: number, h: number) => { filter: string; width: number; height: number };
}

const square =
  (side: number, flags: string): ScaleCandidate['filter'] =>
  () => ({ filter: `scale=${side}:${side}:flags=${flags}`, width: side, height: side });

export const SCALE_CANDIDATES: readonly ScaleCandidate[] = [
  { name: '512x512 area', filter: square(512, 'area') },
  { name: '512x512 bilinear', filter: square(512, 'bilinear') },
  { name: '512x512 bicubic', filter: square(512, 'bicubic') },
  { name: '512x512 neighbor', filter: square(512, 'neighbor') },
  {
    name: 'long side 512, aspect kept, area',
    filter: (w, h) => {
      const s = 512 / Math.max(w, h);
      const width = Math.max(1, Math.round(w * s));
      const height = Math.max(1, Math.round(h * s));
      return { filter: `scale=${width}:${height}:flags=area`, width, height };
    },
  },
  { name: '256x256 area', filter: square(256, 'area') },
  { name: '64x64 area', filter: square(64, 'area') },
];

/** Decodes `file` with ffmpeg through `filter` to packed rgb24 on stdout. */
export async function ffmpegScaled(ffmpeg: string, file: string, filter: string, width: number, height: number): Promise<RgbImage> {
  const { stdout } = await run(
    ffmpeg,
    ['-nostdin', '-v', 'error', '-i', file, '-vf', filter, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  if (stdout.length !== width * height * 3) throw new Error(`${file}: ffmpeg gave ${stdout.length} bytes, expected ${width}x${height}x3`);
  return { width, height, data: stdout };
}

export interface ScaleFigures {
  readonly candidate: string;
  readonly distances: readonly number[];
  readonly median: number;
  readonly max: number;
  readonly mean: number;
}

function figures(candidate: string, distances: number[]): ScaleFigures {
  const sorted = [...distances].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { candidate, distances, median, max: sorted[sorted.length - 1]!, mean };
}

export const SHARED_DECODED_DIR = fileURLToPath(new URL('../../shared/pdq-vectors/decoded/', import.meta.url));

/** Distances per candidate, over the shared decoded images whose full-resolution quality >= minQuality. */
export async function measureScaling(
  ffmpeg: string,
  candidates: readonly ScaleCandidate[],
  minQuality: number,
  dir = SHARED_DECODED_DIR,
): Promise<ScaleFigures[]> {
  const hasher = createPdqHasher();
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.png'))
    .sort()
    .map((f) => join(dir, f));
  const full = new Map<string, { hash: Uint16Array; quality: number; width: number; height: number }>();
  for (const file of files) {
    const img = await readRgbImage(file);
    full.set(file, { ...hasher.hash(img), width: img.width, height: img.height });
  }
  const used = files.filter((f) => full.get(f)!.quality >= minQuality);
  const out: ScaleFigures[] = [];
  for (const c of candidates) {
    const distances: number[] = [];
    for (const file of used) {
      const ref = full.get(file)!;
      const { filter, width, height } = c.filter(ref.width, ref.height);
      const scaled = await ffmpegScaled(ffmpeg, file, filter, width, height);
      distances.push(hammingDistance(hasher.hash(scaled).hash, ref.hash));
    }
    out.push(figures(c.name, distances));
  }
  return out;
}

async function main(): Promise<void> {
  const ffmpeg = process.argv[2] ?? '/usr/bin/ffmpeg';
  for (const minQuality of [50, 0]) {
    const rows = await measureScaling(ffmpeg, SCALE_CANDIDATES, minQuality);
    console.log(`\nHamming distance to the full-resolution hash, images with quality >= ${minQuality} (n=${rows[0]?.distances.length}):`);
    console.log('candidate'.padEnd(36), 'median'.padStart(7), 'mean'.padStart(7), 'max'.padStart(5), '  all');
    for (const r of rows) {
      console.log(
        r.candidate.padEnd(36),
        String(r.median).padStart(7),
        r.mean.toFixed(1).padStart(7),
        String(r.max).padStart(5),
        ' ',
        r.distances.join(' '),
      );
    }
  }
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
