/**
 * Shared by the classifier tests: the converted models (built on demand, like `npm run models`
 * does at install), nsfwjs's original model on @tensorflow/tfjs, and the input images: benign
 * photos from ../shared/pdq-vectors and synthetic frames (drawn here or by ffmpeg's lavfi).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { ensureModels, type BuildModelsResult } from '../../../tools/model-builder/build-models.js';
import type { RgbImage } from '../../../src/domain/frame.js';

let models: Promise<BuildModelsResult> | undefined;

/**
 * models/*.onnx and models/manifest.json, converted now if missing or stale (cached by source
 * sha256, under a lock, so parallel test files share one build). Call from beforeAll.
 */
export function modelsReady(): Promise<BuildModelsResult> {
  models ??= ensureModels();
  return models;
}

/** ../shared/pdq-vectors relative to the repository root. */
export const PDQ_VECTORS = fileURLToPath(new URL('../../../../shared/pdq-vectors/', import.meta.url));

/** The benign reference photos, decoded losslessly (PNG). */
export function benignImagePaths(): string[] {
  const dir = `${PDQ_VECTORS}decoded/`;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.png'))
    .sort()
    .map((f) => dir + f);
}

export async function readRgb(path: string): Promise<RgbImage> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

/** Deterministic synthetic frames: gradients, noise, stripes, flat colours. */
export function syntheticFrames(width = 224, height = 224): Array<{ name: string; image: RgbImage }> {
  const make = (name: string, f: (x: number, y: number, c: number) => number) => {
    const data = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(f(x, y, c))));
    return { name, image: { width, height, data } };
  };
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 256;
  return [
    make('black', () => 0),
    make('white', () => 255),
    make('skin-tone', (_x, _y, c) => [224, 172, 138][c]!),
    make('gradient', (x, y, c) => (c === 0 ? (x * 255) / width : c === 1 ? (y * 255) / height : 128)),
    make('noise', () => rand()),
    make('stripes', (x, _y, c) => ((x >> 3) % 2 ? 220 : 30) - c * 20),
    make('checker', (x, y) => (((x >> 4) + (y >> 4)) % 2 ? 255 : 0)),
    make('radial', (x, y, c) => 128 + 127 * Math.cos(Math.hypot(x - width / 2, y - height / 2) / (6 + c))),
  ];
}

/** A frame from ffmpeg's lavfi test sources, as the sampler would deliver it (raw RGB). */
export function lavfiFrame(source: string, width = 224, height = 224): RgbImage {
  const data = execFileSync(
    '/usr/bin/ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      `${source}=size=${width}x${height}:rate=1`,
      '-frames:v',
      '1',
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      'pipe:1',
    ],
    { maxBuffer: width * height * 3 + 1024, timeout: 20_000 },
  );
  if (data.length !== width * height * 3) throw new Error(`ffmpeg gave ${data.length} bytes for a ${width}x${height} frame`);
  return { width, height, data: new Uint8Array(data) };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}
