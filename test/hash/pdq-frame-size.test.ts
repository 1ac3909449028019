/**
 * The sampler's frame size for PDQ (src/hash/pdq-frame-size.ts), checked with real ffmpeg: the
 * benign shared images scaled by ffmpeg to rgb24 on a pipe, hashed, against the hash of the
 * full-resolution decoded image. scripts/bench-pdq-scale.ts prints the figures for the other
 * candidate sizes and filters.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPdqHasher } from '../../src/hash/pdq-hasher.js';
import { hammingDistance } from '../../src/hash/pdq-hash.js';
import { PDQ_FRAME_SIDE, pdqFrameSize, pdqScaleFilter } from '../../src/hash/pdq-frame-size.js';
import { readRgbImage } from '../../src/sampler/image-file.js';
import { ffmpegScaled } from '../../scripts/bench-pdq-scale.js';
import { PDQ_VECTORS_DIR } from './pdq-vectors.js';

const FFMPEG = '/usr/bin/ffmpeg';
const DECODED = join(PDQ_VECTORS_DIR, 'decoded');
const hasher = createPdqHasher();

interface Sample {
  readonly file: string;
  readonly distance: number;
  readonly scaledBytesEqual: boolean;
}

/** Two ffmpeg processes at a time: the machine running the suite may have only two cores. */
async function measure(files: string[]): Promise<Sample[]> {
  const out: Sample[] = [];
  const queue = [...files];
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const full = await readRgbImage(file);
      const size = pdqFrameSize(full);
      const scaled = await ffmpegScaled(FFMPEG, file, pdqScaleFilter(full), size.width, size.height);
      out.push({
        file,
        distance: hammingDistance(hasher.hash(scaled).hash, hasher.hash(full).hash),
        scaledBytesEqual: Buffer.compare(Buffer.from(scaled.data), Buffer.from(full.data)) === 0,
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
  for (const f of readdirSync(DECODED).filter((n) => n.endsWith('.png')).sort()) {
    const path = join(DECODED, f);
    const img = await readRgbImage(path);
    (img.width > PDQ_FRAME_SIDE || img.height > PDQ_FRAME_SIDE ? large : small).push(path);
  }
  return { large, small };
}

describe('PDQ frame size', () => {
  it('reduces only what is larger than 512 on a side, to exactly 512x512 like the reference', () => {
    expect(pdqFrameSize({ width: 1920, height: 1080 })).toEqual({ width: 512, height: 512 });
    expect(pdqFrameSize({ width: 854, height: 480 })).toEqual({ width: 512, height: 512 });
    expect(pdqFrameSize({ width: 480, height: 360 })).toEqual({ width: 480, height: 360 });
    expect(pdqFrameSize({ width: 512, height: 512 })).toEqual({ width: 512, height: 512 });
    expect(pdqScaleFilter({ width: 1280, height: 720 })).toBe('scale=512:512:flags=area');
  });

  it('ffmpeg 512x512 area frames of larger sources hash within median 2, max 8 of the full-resolution hash', async () => {
    const { large } = await decodedBySize();
    expect(large.length).toBe(18);
    const samples = await measure(large);
    const distances = samples.map((s) => s.distance);
    // Measured with Debian ffmpeg 5.1: median 2, max 8 (bridge-3-rotate-180, bridge-8-flip-minus-1).
    expect(median(distances)).toBeLessThanOrEqual(2);
    expect(Math.max(...distances)).toBeLessThanOrEqual(8);
  }, 120_000);

  it('smaller sources go through ffmpeg unscaled: same pixels, same hash', async () => {
    const { small } = await decodedBySize();
    expect(small.length).toBe(13);
    const samples = await measure(small);
    for (const s of samples) {
      expect(s.scaledBytesEqual, s.file).toBe(true);
      expect(s.distance, s.file).toBe(0);
    }
  }, 120_000);
});
