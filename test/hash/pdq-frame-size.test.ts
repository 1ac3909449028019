/**
 * The frames production hashes, checked with real ffmpeg: each benign shared image is sampled
 * with the sampler's own ffmpeg argv (buildSamplerArgs with DEFAULT_SAMPLER_OPTIONS: scaleMode
 * `shrink`, flags `area`, 512x512), the rgb24 frame it writes to the pipe is hashed, and compared
 * with the hash of the full-resolution decoded image (what Meta's reference computes and what hash
 * lists are built from).
 *
 * Why those defaults: the reference reduces anything over 512 on a side to exactly 512x512
 * (aspect not kept) before hashing, so that is the size to deliver, and ffmpeg's `area` reduction
 * costs little accuracy. Smaller sources must not be upscaled: the reference hashes them at their
 * own size, and upscaling to 512x512 moved hashes by up to 54 bits (256x256 images, median 10).
 * bench/bench-pdq-scale.ts prints the figures for the other candidate sizes and filters
 * (Debian ffmpeg 5.1, the 18 images over 512: area or bilinear median 2, max 8; bicubic and
 * neighbor slightly worse; long side 512 with aspect kept median 8; 256x256 median 9; 64x64 median 11).
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RgbImage } from '../../src/domain/frame.js';
import { createPdqHasher } from '../../src/hash/pdq-hasher.js';
import { hammingDistance } from '../../src/domain/pdq.js';
import { buildSamplerArgs } from '../../src/worker/sampler/ffmpeg-args.js';
import { probeFfmpeg, type FfmpegBinary } from '../../src/worker/sampler/ffmpeg-binary.js';
import { readRgbImage } from '../../src/worker/sampler/image-file.js';
import { parseSourceUrl } from '../../src/worker/sampler/source-url.js';
import { samplerOptions } from '../support/stage-options.js';
import { PDQ_VECTORS_DIR } from './pdq-vectors.js';

/** The sampler's options as a worker with no sampler config runs it. */
const DEFAULT_SAMPLER_OPTIONS = samplerOptions();

const execFileP = promisify(execFile);
const DECODED = join(PDQ_VECTORS_DIR, 'decoded');
/** PDQ's own working size: the reference reduces larger images to exactly this square. */
const PDQ_SIDE = 512;
const hasher = createPdqHasher();
let ffmpeg: FfmpegBinary;

beforeAll(async () => {
  ffmpeg = await probeFfmpeg('/usr/bin/ffmpeg', 'path');
});

/** The one frame the production sampler's argv makes ffmpeg write for an image file. */
async function sampledFrame(file: string, expected: { width: number; height: number }): Promise<RgbImage> {
  const source = parseSourceUrl(file, { allowFiles: true, protocols: ffmpeg.protocols });
  const args = buildSamplerArgs({ source, options: DEFAULT_SAMPLER_OPTIONS, hasFpsMode: ffmpeg.hasFpsMode });
  const { stdout } = await execFileP(ffmpeg.path, args, { encoding: 'buffer', maxBuffer: 64 << 20 });
  const { width, height } = expected;
  if (stdout.length !== width * height * 3)
    throw new Error(`${file}: the sampler's ffmpeg wrote ${stdout.length} bytes, expected one ${width}x${height} rgb24 frame`);
  return { width, height, data: stdout };
}

interface Sample {
  readonly file: string;
  readonly distance: number;
  readonly samePixels: boolean;
}

/** Two ffmpeg processes at a time: the machine running the suite may have only two cores. */
async function measure(files: string[], expectedSize: (full: RgbImage) => { width: number; height: number }): Promise<Sample[]> {
  const out: Sample[] = [];
  const queue = [...files];
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const full = await readRgbImage(file);
      const frame = await sampledFrame(file, expectedSize(full));
      out.push({
        file,
        distance: hammingDistance(hasher.hash(frame).hash, hasher.hash(full).hash),
        samePixels: Buffer.compare(Buffer.from(frame.data), Buffer.from(full.data)) === 0,
      });
    }
  };
  await Promise.all([worker(), worker()]);
  return out.sort((a, b) => a.file.localeCompare(b.file));
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

let bySize: Promise<{ large: string[]; small: string[] }> | undefined;
function decodedBySize(): Promise<{ large: string[]; small: string[] }> {
  bySize ??= splitBySize();
  return bySize;
}

async function splitBySize(): Promise<{ large: string[]; small: string[] }> {
  const large: string[] = [];
  const small: string[] = [];
  for (const f of readdirSync(DECODED)
    .filter((n) => n.endsWith('.png'))
    .sort()) {
    const path = join(DECODED, f);
    const img = await readRgbImage(path);
    (img.width > PDQ_SIDE || img.height > PDQ_SIDE ? large : small).push(path);
  }
  return { large, small };
}

describe("the sampler's frames for PDQ", () => {
  it('defaults to shrinking to 512x512 with area averaging (what the figures below were measured with)', () => {
    expect(DEFAULT_SAMPLER_OPTIONS).toMatchObject({ scaleMode: 'shrink', scaleFlags: 'area', width: PDQ_SIDE, height: PDQ_SIDE });
  });

  it('sources larger than 512 on a side arrive as 512x512 and hash within median 2, max 8 of the full-resolution hash', async () => {
    const { large } = await decodedBySize();
    expect(large.length).toBe(18);
    const samples = await measure(large, () => ({ width: PDQ_SIDE, height: PDQ_SIDE }));
    const distances = samples.map((s) => s.distance);
    // Measured with Debian ffmpeg 5.1: median 2, max 8 (bridge-3-rotate-180, bridge-8-flip-minus-1).
    expect(median(distances)).toBeLessThanOrEqual(2);
    expect(Math.max(...distances)).toBeLessThanOrEqual(8);
  }, 120_000);

  it('smaller sources arrive at their own size, unscaled: same pixels, same hash', async () => {
    const { small } = await decodedBySize();
    expect(small.length).toBe(13);
    const samples = await measure(small, (full) => ({ width: full.width, height: full.height }));
    for (const s of samples) {
      expect(s.samePixels, s.file).toBe(true);
      expect(s.distance, s.file).toBe(0);
    }
  }, 120_000);
});
