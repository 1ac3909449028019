/**
 * The face/age runtime against the real converted models in onnxruntime-node: loading and
 * checking against the manifest, warm-up and readiness, what it reports on benign and
 * synthetic frames, serialised concurrent use, and its failures.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultModelsDir, ensureModels } from '../../../tools/model-builder/build-models.js';
import { createFaceAgeModel, resolveFaceAgeOptions, type OnnxFaceAgeModel } from '../../../src/worker/classify/face-model.js';
import { loadManifest, parseManifest, type LoadedManifest, type ManifestEntry } from '../../../src/worker/classify/manifest.js';
import { ModelError } from '../../../src/domain/errors.js';
import type { RgbImage } from '../../../src/domain/frame.js';
import { benignImage, drawnFaceFrame, lavfiFrame } from './face-support.js';

const logger = pino({ level: 'silent' });
let manifest: LoadedManifest;
let model: OnnxFaceAgeModel;
let people: RgbImage;
let drawn: RgbImage;

beforeAll(async () => {
  await ensureModels();
  manifest = await loadManifest(join(defaultModelsDir(), 'manifest.json'));
  model = await createFaceAgeModel({ manifest, logger, session: { intraOpThreads: 1 } });
  people = await benignImage('q0291.png');
  drawn = await drawnFaceFrame();
}, 180_000);

afterAll(async () => {
  await model?.close();
});

describe('createFaceAgeModel', () => {
  it('is ready only after warm-up, with face-api’s defaults', async () => {
    expect(model.ready).toBe(false);
    await model.warmUp();
    expect(model.ready).toBe(true);
    expect(model.options).toEqual({ inputSize: 416, scoreThreshold: 0.5, iouThreshold: 0.4, maxFaces: 32 });
  });

  it('finds the adults in a street photo, with boxes in frame pixels and adult apparent ages', async () => {
    const { faces } = await model.analyse(people);
    expect(faces.length).toBeGreaterThanOrEqual(2);
    for (const f of faces) {
      const [x, y, w, h] = f.box;
      expect(f.score).toBeGreaterThan(0.5);
      // Face-sized boxes (the photo is 256×256 and the faces ~30 px) inside the frame.
      expect(w).toBeGreaterThan(10);
      expect(w).toBeLessThan(80);
      expect(h).toBeGreaterThan(10);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(x + w).toBeLessThanOrEqual(people.width);
      expect(f.age).toBeGreaterThan(25);
      expect(f.age).toBeLessThan(60);
    }
    // Best score first, as NMS picks them.
    expect(faces.map((f) => f.score)).toEqual([...faces.map((f) => f.score)].sort((a, b) => b - a));
  });

  it('estimates a drawn cartoon face as young (the policy, not the model, calls that a possible minor)', async () => {
    const result = await model.analyse(drawn);
    expect(Object.keys(result)).toEqual(['faces']);
    const { faces } = result;
    expect(faces).toHaveLength(1);
    const [x, y, w, h] = faces[0]!.box;
    // The drawing's oval is centred at (256, 180) with radii 79×108.
    expect(Math.abs(x + w / 2 - 256)).toBeLessThan(30);
    expect(Math.abs(y + h / 2 - 180)).toBeLessThan(40);
    expect(faces[0]!.age).toBeLessThan(25);
  });

  it('reports no faces for a test pattern', async () => {
    const { faces } = await model.analyse(lavfiFrame(640, 360));
    expect(faces).toEqual([]);
  });

  it('gives the same answers when called concurrently (runs are serialised per session)', async () => {
    const frames = [people, drawn, people, drawn];
    const sequential = [];
    for (const f of frames) sequential.push(await model.detect(f));
    const concurrent = await Promise.all(frames.map((f) => model.detect(f)));
    expect(concurrent).toEqual(sequential);
  });

  it('applies the detector options it was created with', async () => {
    const strict = await createFaceAgeModel({ manifest, logger, options: { inputSize: 608, maxFaces: 1 } });
    try {
      await strict.warmUp();
      const { faces } = await strict.analyse(people);
      expect(faces).toHaveLength(1);
      expect(faces[0]!.age).toBeLessThan(60);
    } finally {
      await strict.close();
    }
    expect(strict.ready).toBe(false);
    await expect(strict.detect(people)).rejects.toThrow(/closed/);
  });

  it('close() lets the analyses already started finish, then releases the sessions and refuses new ones', async () => {
    const expected = [await model.detect(people), await model.detect(drawn)];
    const closing = await createFaceAgeModel({ manifest, logger });
    // Three calls queue on the serialised sessions; close() comes while the first is running.
    const started = [closing.detect(people), closing.detect(drawn), closing.detect(people)];
    await closing.close();
    const settled = await Promise.allSettled(started);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : s.reason))).toEqual([expected[0], expected[1], expected[0]]);
    await expect(closing.detect(people)).rejects.toMatchObject({ code: 'inference_failed', message: expect.stringMatching(/closed/) });
    await expect(closing.warmUp()).rejects.toMatchObject({ code: 'inference_failed' });
  });

  it('rejects an image whose bytes do not match its size', async () => {
    const err = await model.detect({ width: 10, height: 10, data: new Uint8Array(299) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect(err).toMatchObject({
      code: 'inference_failed',
      retryable: false,
      message: expect.stringMatching(/needs 300 RGB bytes, got 299/),
    });
  });
});

describe('options and model files', () => {
  it('validates options, listing every problem', () => {
    expect(() => resolveFaceAgeOptions({ inputSize: 100, scoreThreshold: 1.5, maxFaces: 0 })).toThrow(
      /inputSize must be a positive multiple of 32.*scoreThreshold.*maxFaces/,
    );
  });

  /** The face entries of the real manifest, with their files as absolute paths, changed by `edit`. */
  function faceManifest(edit: (entries: ManifestEntry[]) => ManifestEntry[] = (e) => e): LoadedManifest {
    const face = manifest.models
      .filter((m) => m.id === 'face-detector' || m.id === 'age-gender')
      .map((m) => ({ ...m, file: manifest.resolveFile(m) }));
    // A manifest path where no file exists: the model must not read one from disk.
    return parseManifest({ version: 1, models: edit(face) }, join(defaultModelsDir(), 'no-such-dir', 'manifest.json'));
  }

  it('uses the manifest it is given, not one read again from disk', async () => {
    const m = await createFaceAgeModel({ manifest: faceManifest(), logger });
    try {
      expect(await m.detect(people)).toEqual(await model.detect(people));
    } finally {
      await m.close();
    }
  });

  it('refuses a model file whose sha256 does not match the manifest', async () => {
    const bad = faceManifest((entries) => entries.map((e) => (e.id === 'age-gender' ? { ...e, sha256: '0'.repeat(64) } : e)));
    const err = await createFaceAgeModel({ manifest: bad, logger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).code).toBe('model_invalid');
    expect((err as ModelError).message).toMatch(/model 'age-gender': .*age-gender\.onnx has sha256 [0-9a-f]{64}, the manifest says 0{64}/);
  });

  it("creates its sessions with the caller's settings, refusing impossible ones", async () => {
    await expect(createFaceAgeModel({ manifest, logger, session: { intraOpThreads: 0 } })).rejects.toMatchObject({
      code: 'model_invalid',
      message: expect.stringMatching(/intraOpThreads must be a positive integer, got 0/),
    });
  });

  it('says how to build the models when the manifest lacks one', async () => {
    const partial = faceManifest((entries) => entries.filter((e) => e.id !== 'age-gender'));
    await expect(createFaceAgeModel({ manifest: partial, logger })).rejects.toThrow(/no 'age-gender' model \(run `npm run models`\)/);
  });
});
