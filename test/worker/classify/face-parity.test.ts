/**
 * Parity of the converted face models with the originals: face-api@1.7.15's own network code
 * and weights running in @tensorflow/tfjs, against models/face-detector.onnx and
 * models/age-gender.onnx in onnxruntime-node, on the same input tensors.
 *
 * Inputs: benign images from ../shared/pdq-vectors (one with adult faces, the rest buildings,
 * a bridge, objects) and synthetic frames (a drawn cartoon face, an ffmpeg lavfi test pattern,
 * noise). Most have no real face, so the raw network outputs are compared everywhere, and the
 * age network is fed crops of every image whether or not a face is in them: parity is about the
 * network, not about faces.
 *
 * Bounds: raw outputs within float32 rounding (relative 1e-5 of the output's range), age within
 * 0.05 years, boxes within 1 px, and the preprocessing bit-identical to tfjs's CPU kernels.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultModelsDir, ensureModels } from '../../../tools/model-builder/build-models.js';
import { AGE_INPUT_SIZE, DETECTOR_DEFAULT_INPUT_SIZE } from '../../../src/worker/classify/face-constants.js';
import { createFaceAgeModel, type OnnxFaceAgeModel } from '../../../src/worker/classify/face-model.js';
import { loadManifest } from '../../../src/worker/classify/manifest.js';
import { clipCrop, detectorInput, faceCropInput, type CropRect } from '../../../src/worker/classify/face-preprocess.js';
import type { RgbImage } from '../../../src/domain/frame.js';
import {
  BENIGN_IMAGES,
  benignImage,
  drawnFaceFrame,
  lavfiFrame,
  loadFaceApi,
  maxAbs,
  maxAbsDiff,
  nchwToNhwc,
  nhwcToNchw,
  noiseFrame,
} from './face-support.js';

const SCORE_THRESHOLD = 0.1; // low, so the benign images yield detections to compare
const GRID_RELATIVE_TOLERANCE = 1e-5;
const AGE_TOLERANCE_YEARS = 0.05;
const BOX_TOLERANCE_PX = 1;

interface Case {
  readonly name: string;
  readonly img: RgbImage;
}

let cases: Case[] = [];
let modelsDir: string;
let detSession: ort.InferenceSession;
let ageSession: ort.InferenceSession;
let model: OnnxFaceAgeModel;

/** Worst cases seen, printed once at the end as the parity report. */
const figures = {
  gridMaxAbsDiff: 0,
  gridMaxRelDiff: 0,
  ageMaxDiffYears: 0,
  genderMaxDiff: 0,
  agedCrops: 0,
  e2eFaces: 0,
  e2eBoxMaxDiffPx: 0,
  e2eScoreMaxDiff: 0,
  e2eAgeMaxDiffYears: 0,
};

beforeAll(async () => {
  await ensureModels();
  modelsDir = defaultModelsDir();
  detSession = await ort.InferenceSession.create(join(modelsDir, 'face-detector.onnx'));
  ageSession = await ort.InferenceSession.create(join(modelsDir, 'age-gender.onnx'));
  model = await createFaceAgeModel({
    manifest: await loadManifest(join(modelsDir, 'manifest.json')),
    logger: pino({ level: 'silent' }),
    options: { scoreThreshold: SCORE_THRESHOLD },
  });
  await model.warmUp();
  cases = [
    ...(await Promise.all(BENIGN_IMAGES.map(async (name) => ({ name, img: await benignImage(name) })))),
    { name: 'drawn face 640x360', img: await drawnFaceFrame() },
    { name: 'lavfi testsrc2 480x640', img: lavfiFrame(480, 640) },
    { name: 'noise 301x199', img: noiseFrame(301, 199) },
  ];
}, 180_000);

afterAll(async () => {
  await model?.close();
  await detSession?.release();
  await ageSession?.release();
  console.info(`face parity (tfjs wasm vs onnxruntime): ${JSON.stringify(figures)}`);
});

/** Crops of any image, face or not: squarish, tall, wide, small, and odd padding amounts. */
function fixedCrops(img: RgbImage): CropRect[] {
  const { width: w, height: h } = img;
  const side = Math.min(w, h);
  const rects = [
    { x: Math.floor((w - side) / 2), y: Math.floor((h - side) / 2), width: side, height: side },
    { x: 0, y: 0, width: Math.max(1, Math.floor(w / 3)), height: h },
    { x: 0, y: Math.floor(h / 3), width: w, height: Math.max(1, Math.floor(h / 4)) },
    { x: Math.floor(w / 2), y: Math.floor(h / 5), width: Math.min(37, w - Math.floor(w / 2)), height: Math.min(54, h - Math.floor(h / 5)) },
  ];
  return rects.map((r) => clipCrop(r, w, h)).filter((r): r is CropRect => r !== null);
}

describe('preprocessing equals face-api on tfjs cpu, bit for bit', () => {
  it('detector input: pad bottom/right to a square and resize, at 416 and 320', async () => {
    const { tf, faceapi } = await loadFaceApi('cpu');
    for (const { name, img } of cases) {
      for (const size of name === 'q0291.png' ? [DETECTOR_DEFAULT_INPUT_SIZE, 320] : [DETECTOR_DEFAULT_INPUT_SIZE]) {
        const ref = tf.tidy(() =>
          new faceapi.NetInput([tf.tensor3d(img.data, [img.height, img.width, 3], 'int32')]).toBatchTensor(size, false),
        );
        const refData = (await ref.data()) as Float32Array;
        ref.dispose();
        const ours = nchwToNhwc(detectorInput(img, size), 3, size, size);
        expect(maxAbsDiff(ours, refData), `${name} @${size}`).toBe(0);
      }
    }
  });

  it('age input: clip the box, pad to a centred square, resize to 112', async () => {
    const { tf, faceapi } = await loadFaceApi('cpu');
    for (const { name, img } of cases) {
      const image = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
      // Boxes straddling the edges and with fractional coordinates, as detections have.
      // tfjs's CPU kernels take seconds to pad a 1600-px crop, so big images get the small crops only.
      const crops = Math.max(img.width, img.height) > 1000 ? fixedCrops(img).slice(3) : fixedCrops(img);
      const boxes = [
        ...crops,
        { x: -7.3, y: img.height * 0.6, width: Math.min(img.width, 700) * 0.3 + 0.7, height: Math.min(img.height, 700) * 0.55 },
      ];
      for (const box of boxes) {
        const [faceTensor] = await faceapi.extractFaceTensors(image, [new faceapi.Rect(box.x, box.y, box.width, box.height)]);
        const ref = tf.tidy(() => new faceapi.NetInput([faceTensor]).toBatchTensor(AGE_INPUT_SIZE, true));
        const refData = (await ref.data()) as Float32Array;
        ref.dispose();
        faceTensor.dispose();
        const crop = clipCrop(box, img.width, img.height);
        expect(crop, `${name} ${JSON.stringify(box)}`).not.toBeNull();
        const ours = nchwToNhwc(faceCropInput(img, crop!, AGE_INPUT_SIZE), 3, AGE_INPUT_SIZE, AGE_INPUT_SIZE);
        expect(maxAbsDiff(ours, refData), `${name} ${JSON.stringify(box)}`).toBe(0);
      }
      image.dispose();
    }
  });
});

describe('raw network outputs on the same tensors (tfjs wasm vs onnxruntime)', () => {
  it('face detector grid, every image, 416 (and 320, 608 on one)', async () => {
    const { tf, faceapi } = await loadFaceApi('wasm');
    for (const { name, img } of cases) {
      for (const size of name === 'pen-and-coaster.png' ? [DETECTOR_DEFAULT_INPUT_SIZE, 320, 608] : [DETECTOR_DEFAULT_INPUT_SIZE]) {
        const input = detectorInput(img, size);
        const x = tf.tensor4d(nchwToNhwc(input, 3, size, size), [1, size, size, 3]);
        const out = faceapi.nets.tinyFaceDetector.forwardInput(await faceapi.toNetInput(x), size);
        const [, cells, , channels] = out.shape as number[];
        const ref = nhwcToNchw((await out.data()) as Float32Array, channels!, cells!, cells!);
        out.dispose();
        x.dispose();
        const got = (await detSession.run({ image: new ort.Tensor('float32', input, [1, 3, size, size]) })).grid!;
        expect(got.dims).toEqual([1, channels, cells, cells]);
        expect(cells).toBe(size / 32);
        const diff = maxAbsDiff(got.data as Float32Array, ref);
        const range = Math.max(1, maxAbs(ref));
        figures.gridMaxAbsDiff = Math.max(figures.gridMaxAbsDiff, diff);
        figures.gridMaxRelDiff = Math.max(figures.gridMaxRelDiff, diff / range);
        expect(diff / range, `${name} @${size}: max abs diff ${diff} on outputs up to ${range}`).toBeLessThan(GRID_RELATIVE_TOLERANCE);
      }
    }
  });

  it('age and gender on crops of every image (faces or not)', async () => {
    const { tf, faceapi } = await loadFaceApi('wasm');
    for (const { name, img } of cases) {
      const crops = fixedCrops(img);
      const plane = 3 * AGE_INPUT_SIZE * AGE_INPUT_SIZE;
      const batch = new Float32Array(crops.length * plane);
      crops.forEach((crop, i) => faceCropInput(img, crop, AGE_INPUT_SIZE, batch, i * plane));
      const faces = crops.map((_, i) =>
        tf.tensor3d(nchwToNhwc(batch.subarray(i * plane, (i + 1) * plane), 3, AGE_INPUT_SIZE, AGE_INPUT_SIZE), [
          AGE_INPUT_SIZE,
          AGE_INPUT_SIZE,
          3,
        ]),
      );
      const ref = faceapi.nets.ageGenderNet.forwardInput(await faceapi.toNetInput(faces));
      const refAge = (await ref.age.data()) as Float32Array;
      const refGender = (await ref.gender.data()) as Float32Array;
      ref.age.dispose();
      ref.gender.dispose();
      faces.forEach((f: { dispose(): void }) => f.dispose());
      const out = await ageSession.run({ face: new ort.Tensor('float32', batch, [crops.length, 3, AGE_INPUT_SIZE, AGE_INPUT_SIZE]) });
      const age = out.age!.data as Float32Array;
      const gender = out.gender!.data as Float32Array;
      expect(age.length).toBe(crops.length);
      const ageDiff = maxAbsDiff(age, refAge);
      const genderDiff = maxAbsDiff(gender, refGender);
      figures.ageMaxDiffYears = Math.max(figures.ageMaxDiffYears, ageDiff);
      figures.genderMaxDiff = Math.max(figures.genderMaxDiff, genderDiff);
      figures.agedCrops += crops.length;
      expect(
        ageDiff,
        `${name}: ages ${[...age].map((a) => a.toFixed(3)).join()} vs ${[...refAge].map((a) => a.toFixed(3)).join()}`,
      ).toBeLessThan(AGE_TOLERANCE_YEARS);
      expect(genderDiff, name).toBeLessThan(1e-5);
    }
  });
});

describe('end to end: face-api detectAllFaces().withAgeAndGender() vs createFaceAgeModel().detect()', () => {
  it('same faces, boxes within 1 px, ages within 0.05 years', async () => {
    const { tf, faceapi } = await loadFaceApi('wasm');
    for (const { name, img } of cases) {
      const image = tf.tensor3d(img.data, [img.height, img.width, 3], 'int32');
      const options = new faceapi.TinyFaceDetectorOptions({ inputSize: DETECTOR_DEFAULT_INPUT_SIZE, scoreThreshold: SCORE_THRESHOLD });
      const ref = (await faceapi.detectAllFaces(image, options).withAgeAndGender()) as Array<{
        detection: { score: number; box: { x: number; y: number; width: number; height: number } };
        age: number;
      }>;
      image.dispose();
      const ours = await model.detect(img);
      expect(ours.length, `${name}: ${ours.length} faces vs face-api's ${ref.length}`).toBe(ref.length);
      ref.forEach((r, i) => {
        const o = ours[i]!;
        const boxDiff = maxAbsDiff(o.box, [r.detection.box.x, r.detection.box.y, r.detection.box.width, r.detection.box.height]);
        figures.e2eBoxMaxDiffPx = Math.max(figures.e2eBoxMaxDiffPx, boxDiff);
        figures.e2eScoreMaxDiff = Math.max(figures.e2eScoreMaxDiff, Math.abs(o.score - r.detection.score));
        figures.e2eAgeMaxDiffYears = Math.max(figures.e2eAgeMaxDiffYears, Math.abs(o.age - r.age));
        expect(boxDiff, `${name} face ${i}`).toBeLessThan(BOX_TOLERANCE_PX);
        expect(Math.abs(o.score - r.detection.score), `${name} face ${i}`).toBeLessThan(1e-4);
        expect(Math.abs(o.age - r.age), `${name} face ${i}: ${o.age} vs ${r.age}`).toBeLessThan(AGE_TOLERANCE_YEARS);
      });
      figures.e2eFaces += ref.length;
    }
    // The comparison above must not pass vacuously: q0291 has three adults, the drawing one face.
    expect(figures.e2eFaces).toBeGreaterThanOrEqual(5);
  });
});
