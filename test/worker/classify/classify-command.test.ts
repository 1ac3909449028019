/**
 * `streamscreen classify FILE...`: one JSON line per file with nudity probabilities, faces and
 * possibleMinor; failures reported per file without stopping the rest. An image already
 * 224x224 reaches the nudity model byte for byte (no resampling).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadManifest } from '../../../src/worker/classify/manifest.js';
import { run } from '../../../src/cli/commands/classify.js';
import { PDQ_VECTORS, lavfiFrame, modelsReady, readRgb } from './support.js';
import { captureIO as capture } from '../../support/capture-io.js';

let dir: string;
let png224: string;
let rgbaSmall: string;

beforeAll(async () => {
  await modelsReady();
  dir = await mkdtemp(join(tmpdir(), 'streamscreen-classify-'));
  const frame = lavfiFrame('testsrc2');
  png224 = join(dir, 'testsrc-224.png');
  await sharp(frame.data, { raw: { width: 224, height: 224, channels: 3 } })
    .png()
    .toFile(png224);
  rgbaSmall = join(dir, 'rgba-small.png');
  // An RGBA PNG at an odd size: decoding must drop alpha and scaling must cope.
  await sharp({ create: { width: 37, height: 53, channels: 4, background: { r: 10, g: 200, b: 90, alpha: 0.5 } } })
    .png()
    .toFile(rgbaSmall);
  await writeFile(join(dir, 'not-an-image.jpg'), 'hello');
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('streamscreen classify', () => {
  it('prints one JSON object per file and reports bad files on stderr', async () => {
    const photo = `${PDQ_VECTORS}original/q0291.jpg`;
    const files = [photo, png224, join(dir, 'missing.jpg'), join(dir, 'not-an-image.jpg'), rgbaSmall];
    const c = capture();
    const code = await run(files, c.io);
    expect(code).toBe(1);
    const lines = c
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.file)).toEqual([photo, png224, rgbaSmall]);
    for (const line of lines) {
      expect(Object.keys(line)).toEqual(['file', 'nudity', 'faces', 'possibleMinor']);
      const nudity = line.nudity as Record<string, number>;
      expect(Object.keys(nudity)).toEqual(['drawing', 'hentai', 'neutral', 'porn', 'sexy']);
      expect(Object.values(nudity).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(typeof line.possibleMinor).toBe('boolean');
      for (const face of line.faces as Array<Record<string, unknown>>) {
        expect(face.box).toHaveLength(4);
        expect(face.score).toBeGreaterThan(0);
        expect(face.age).toBeGreaterThan(0);
      }
    }
    expect(c.err()).toMatch(/missing\.jpg: no such file/);
    expect(c.err()).toMatch(/not-an-image\.jpg: cannot decode image/);
  }, 60_000);

  it('feeds a 224x224 image to the nudity model unchanged', async () => {
    const c = capture();
    expect(await run(['--no-faces', png224], c.io)).toBe(0);
    const line = JSON.parse(c.out()) as { nudity: Record<string, number>; faces: unknown[] };
    expect(line.faces).toEqual([]);

    // The file's own pixels, straight into a bare onnxruntime session: no code of ours between.
    const built = await modelsReady();
    const manifest = await loadManifest(built.manifestPath);
    const session = await ort.InferenceSession.create(manifest.resolveFile(manifest.models.find((m) => m.kind === 'nudity')!));
    try {
      const pixels = await readRgb(png224);
      expect(Buffer.from(pixels.data).equals(Buffer.from(lavfiFrame('testsrc2').data))).toBe(true);
      const out = await session.run({ image: new ort.Tensor('uint8', new Uint8Array(pixels.data), [1, 224, 224, 3]) });
      expect(Object.values(line.nudity)).toEqual(Array.from(out.probabilities!.data as Float32Array));
    } finally {
      await session.release();
    }
  }, 60_000);

  it('has usage errors and help', async () => {
    const none = capture();
    expect(await run([], none.io)).toBe(2);
    expect(none.err()).toMatch(/no files given/);
    const bad = capture();
    expect(await run(['--threads', '0', png224], bad.io)).toBe(2);
    const help = capture();
    expect(await run(['--help'], help.io)).toBe(0);
    expect(help.out()).toMatch(/usage: streamscreen classify/);
    const noManifest = capture();
    expect(await run(['--manifest', join(dir, 'nope.json'), png224], noManifest.io)).toBe(1);
    expect(noManifest.err()).toMatch(/npm run models/);
  });
});
