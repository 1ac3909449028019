/**
 * Shared by the face tests: the original face-api networks running in @tensorflow/tfjs, the
 * benign reference images from ../shared/pdq-vectors, and synthetic frames.
 *
 * face-api's `face-api.node-wasm.js` build requires `@tensorflow/tfjs` and
 * `@tensorflow/tfjs-backend-wasm` (both installed here; no tfjs-node), so it is loaded through
 * CommonJS `require` to share one tfjs instance with this file, and weights are read from the
 * package's own model/ folder with face-api's loader. Nothing is downloaded.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { RgbImage } from '../../../src/domain/frame.js';

const require = createRequire(import.meta.url);

/** The tfjs namespace and face-api as loaded through CommonJS (typed loosely: both are only test oracles). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Tf = any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FaceApi = any;

let loaded: Promise<{ tf: Tf; faceapi: FaceApi }> | undefined;

/**
 * tfjs with the given backend and face-api with the tiny face detector and age/gender weights
 * loaded. `wasm` is ~15× faster than `cpu` here; `cpu` is tfjs's reference JS kernels.
 */
export function loadFaceApi(backend: 'wasm' | 'cpu' = 'wasm'): Promise<{ tf: Tf; faceapi: FaceApi }> {
  loaded ??= (async () => {
    // tfjs prints a "use tfjs-node" banner on first use in Node; it is irrelevant to tests.
    const warn = console.warn;
    const log = console.log;
    console.warn = () => {};
    console.log = () => {};
    try {
      const tf = require('@tensorflow/tfjs');
      require('@tensorflow/tfjs-backend-wasm');
      const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
      // A backend must be initialised before face-api turns the weights into tensors.
      await tf.setBackend(backend);
      await tf.ready();
      const modelDir = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
      await faceapi.nets.tinyFaceDetector.loadFromDisk(modelDir);
      await faceapi.nets.ageGenderNet.loadFromDisk(modelDir);
      return { tf, faceapi };
    } finally {
      console.warn = warn;
      console.log = log;
    }
  })();
  return loaded.then(async (m) => {
    if (m.tf.getBackend() !== backend) {
      await m.tf.setBackend(backend);
      await m.tf.ready();
    }
    return m;
  });
}

/** ../shared/pdq-vectors/decoded, resolved from this file (test/classify → repo → ..). */
export const PDQ_DECODED_DIR = fileURLToPath(new URL('../../../../shared/pdq-vectors/decoded/', import.meta.url));

/**
 * Benign reference images. q0291 shows three adults walking (real faces); the others are
 * buildings, a bridge, objects: parity on what the detector makes of them matters as much.
 */
export const BENIGN_IMAGES = ['q0291.png', 'q1050.png', 'pen-and-coaster.png', 'blur-a-lot.png', 'c.png'] as const;

export async function decodeImage(path: string): Promise<RgbImage> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${path}: decoded to ${info.channels} channels`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export function benignImage(name: string): Promise<RgbImage> {
  return decodeImage(join(PDQ_DECODED_DIR, name));
}

/**
 * A drawn cartoon face (skin-toned oval, eyes, brows, nose, mouth) on a plain background, at a
 * wide aspect ratio so the detector's bottom padding is exercised. Entirely synthetic.
 */
export async function drawnFaceFrame(width = 640, height = 360): Promise<RgbImage> {
  const cx = width * 0.4;
  const cy = height * 0.5;
  const rx = height * 0.22;
  const ry = height * 0.3;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="#6f8fa8"/>
    <ellipse cx="${cx}" cy="${cy}" rx="${rx}" ry="${ry}" fill="#e0b48f"/>
    <ellipse cx="${cx - rx * 0.4}" cy="${cy - ry * 0.2}" rx="${rx * 0.16}" ry="${ry * 0.07}" fill="#fff"/>
    <ellipse cx="${cx + rx * 0.4}" cy="${cy - ry * 0.2}" rx="${rx * 0.16}" ry="${ry * 0.07}" fill="#fff"/>
    <circle cx="${cx - rx * 0.4}" cy="${cy - ry * 0.2}" r="${rx * 0.07}" fill="#3a2a1a"/>
    <circle cx="${cx + rx * 0.4}" cy="${cy - ry * 0.2}" r="${rx * 0.07}" fill="#3a2a1a"/>
    <rect x="${cx - rx * 0.62}" y="${cy - ry * 0.36}" width="${rx * 0.45}" height="${ry * 0.04}" fill="#4a3020"/>
    <rect x="${cx + rx * 0.17}" y="${cy - ry * 0.36}" width="${rx * 0.45}" height="${ry * 0.04}" fill="#4a3020"/>
    <path d="M ${cx} ${cy - ry * 0.1} L ${cx - rx * 0.12} ${cy + ry * 0.15} L ${cx + rx * 0.1} ${cy + ry * 0.15}" fill="#c89a78"/>
    <path d="M ${cx - rx * 0.35} ${cy + ry * 0.35} Q ${cx} ${cy + ry * 0.5} ${cx + rx * 0.35} ${cy + ry * 0.35}" stroke="#8a3a3a" stroke-width="${rx * 0.06}" fill="none"/>
    <ellipse cx="${cx}" cy="${cy - ry * 0.85}" rx="${rx * 0.95}" ry="${ry * 0.3}" fill="#3b2a1e"/>
  </svg>`;
  const { data, info } = await sharp(Buffer.from(svg)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** One frame of an ffmpeg lavfi test source (`testsrc2`), as raw RGB: what the sampler hands over. */
export function lavfiFrame(width = 480, height = 640, source = 'testsrc2'): RgbImage {
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
  if (data.length !== width * height * 3) throw new Error(`ffmpeg gave ${data.length} bytes for ${width}x${height}`);
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** Deterministic pseudo-random RGB noise (xorshift32), for inputs with no structure at all. */
export function noiseFrame(width: number, height: number, seed = 0x9e3779b9): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    data[i] = s & 0xff;
  }
  return { width, height, data };
}

/** NCHW (one image) → NHWC, the layout tfjs and face-api work in. */
export function nchwToNhwc(data: Float32Array, channels: number, height: number, width: number): Float32Array {
  const out = new Float32Array(data.length);
  const plane = height * width;
  for (let c = 0; c < channels; c++) for (let i = 0; i < plane; i++) out[i * channels + c] = data[c * plane + i]!;
  return out;
}

export function nhwcToNchw(data: Float32Array, channels: number, height: number, width: number): Float32Array {
  const out = new Float32Array(data.length);
  const plane = height * width;
  for (let c = 0; c < channels; c++) for (let i = 0; i < plane; i++) out[c * plane + i] = data[i * channels + c]!;
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
