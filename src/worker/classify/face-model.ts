/**
 * Faces and apparent age for a frame: face-api's TinyFaceDetector and AgeGenderNet, converted to
 * ONNX (tools/model-builder/convert-face.ts) and run in onnxruntime-node.
 *
 * Per frame: pad/resize the frame for the detector (face-preprocess.ts), one detector run,
 * YOLO decoding + NMS (face-decode.ts), then every face's crop in one batched age run. The
 * result is faces with box (frame pixels), detector score and apparent age. Whether any face
 * counts as a possible minor is the policy's rule (worker/policy/possible-minor.ts): an estimate, never a certainty.
 */
import * as ort from 'onnxruntime-node';
import { ModelError } from '../../domain/errors.js';
import type { RgbImage } from '../../domain/frame.js';
import type { Logger } from '../../domain/logger.js';
import type { FaceSignal } from '../../domain/signals.js';
import {
  AGE_GENDER_MODEL,
  AGE_INPUT_SIZE,
  DETECTOR_ANCHORS,
  DETECTOR_BOX_ENCODING,
  DETECTOR_DEFAULT_INPUT_SIZE,
  DETECTOR_DEFAULT_IOU_THRESHOLD,
  DETECTOR_DEFAULT_SCORE_THRESHOLD,
  DETECTOR_STRIDE,
  FACE_DETECTOR_MODEL,
} from './face-constants.js';
import { cropBoxFor, decodeGrid, nonMaxSuppression, toPixels, type FaceCandidate } from './face-decode.js';
import { clipCrop, detectorInput, faceCropInput, type CropRect } from './face-preprocess.js';
import type { LoadedManifest, ManifestEntry } from './manifest.js';
import { assertFrame } from './rgb-image.js';
import { createInFlight, openModelSession, type SessionOptions } from './session.js';
import type { FaceAgeModel } from './types.js';

export interface FaceAgeOptions {
  /** Detector input side in pixels, a multiple of 32. Default 416 (face-api's default); 320 is faster, 608 finds smaller faces. */
  readonly inputSize?: number;
  /** Minimum detector score (sigmoid objectness), exclusive. Default 0.5 (face-api's default). */
  readonly scoreThreshold?: number;
  /** NMS drops a box overlapping a better one with IoU above this. Default 0.4 (face-api's). */
  readonly iouThreshold?: number;
  /**
   * At most this many faces (best scores first) are aged per frame, bounding the age model's
   * cost on crowd scenes. Default 32. Extra faces are logged at debug level, not aged.
   */
  readonly maxFaces?: number;
}

export interface FaceAgeModelDeps {
  /**
   * The loaded model manifest (models/manifest.json by default), naming and pinning both model
   * files: the caller's, so the face part sees the same manifest as the models beside it.
   */
  readonly manifest: LoadedManifest;
  /**
   * onnxruntime settings for both sessions (the composite passes its own). Default one intra-op
   * thread, no spinning: the worker runs streams in parallel instead.
   */
  readonly session?: SessionOptions;
  readonly logger: Logger;
  readonly options?: FaceAgeOptions;
}

/**
 * One face: `box` is [x, y, width, height] in the input image's pixels (it may reach past the
 * frame edge, as the detector's boxes do), `score` the detector's confidence, `age` the
 * apparent age in years.
 */
export type FaceDetection = FaceSignal;

/**
 * The ONNX face/age part: the composite's `FaceAgeModel` (types.ts) plus what tests, benchmarks
 * and the parity checks look at.
 */
export interface OnnxFaceAgeModel extends FaceAgeModel {
  /** True once both sessions are loaded and warmed up. */
  readonly ready: boolean;
  /** The resolved options (defaults filled in). */
  readonly options: Required<FaceAgeOptions>;
  /** Faces in `img` with box (pixels), detector score and apparent age. */
  detect(img: RgbImage): Promise<FaceDetection[]>;
}

export function resolveFaceAgeOptions(options: FaceAgeOptions = {}): Required<FaceAgeOptions> {
  const o = {
    inputSize: options.inputSize ?? DETECTOR_DEFAULT_INPUT_SIZE,
    scoreThreshold: options.scoreThreshold ?? DETECTOR_DEFAULT_SCORE_THRESHOLD,
    iouThreshold: options.iouThreshold ?? DETECTOR_DEFAULT_IOU_THRESHOLD,
    maxFaces: options.maxFaces ?? 32,
  };
  const issues: string[] = [];
  if (!Number.isInteger(o.inputSize) || o.inputSize < DETECTOR_STRIDE || o.inputSize % DETECTOR_STRIDE !== 0) {
    issues.push(`inputSize must be a positive multiple of ${DETECTOR_STRIDE}, got ${o.inputSize}`);
  }
  if (!(o.scoreThreshold >= 0 && o.scoreThreshold < 1)) issues.push(`scoreThreshold must be in [0, 1), got ${o.scoreThreshold}`);
  if (!(o.iouThreshold >= 0 && o.iouThreshold <= 1)) issues.push(`iouThreshold must be in [0, 1], got ${o.iouThreshold}`);
  if (!Number.isInteger(o.maxFaces) || o.maxFaces < 1) issues.push(`maxFaces must be a positive integer, got ${o.maxFaces}`);
  if (issues.length) throw new ModelError('model_invalid', `invalid face model options: ${issues.join('; ')}`);
  return o;
}

/** Loads both models (checked against the manifest's sha256) and creates their sessions once. */
export async function createFaceAgeModel(deps: FaceAgeModelDeps): Promise<OnnxFaceAgeModel> {
  const options = resolveFaceAgeOptions(deps.options);
  const sessionOptions: SessionOptions = deps.session ?? { intraOpThreads: 1, spinning: false };
  const log = deps.logger.child({ component: 'face-age' });
  const manifest = deps.manifest;
  const detector = await openSession(manifest, FACE_DETECTOR_MODEL, sessionOptions, 'image', 'grid');
  let ager: Session;
  try {
    ager = await openSession(manifest, AGE_GENDER_MODEL, sessionOptions, 'face', 'age');
  } catch (err) {
    await detector.session.release();
    throw err;
  }
  log.info({ inputSize: options.inputSize, intraOpThreads: sessionOptions.intraOpThreads }, 'face and age models loaded');

  const inputSize = options.inputSize;
  const cells = inputSize / DETECTOR_STRIDE;
  // One detector input buffer, reused: runs on a session are serialised, and preprocessing
  // happens inside that turn.
  const detectorBuffer = new Float32Array(3 * inputSize * inputSize);
  let ready = false;
  let closed = false;
  // detect() and warmUp() from their start: close() waits for them before releasing the sessions.
  const inFlight = createInFlight();

  async function detectFaces(img: RgbImage): Promise<FaceCandidate[]> {
    return detector.exclusive(async () => {
      detectorInput(img, inputSize, detectorBuffer);
      const out = await detector.run(new ort.Tensor('float32', detectorBuffer, [1, 3, inputSize, inputSize]));
      const grid = out.data as Float32Array;
      const expected = DETECTOR_ANCHORS.length * DETECTOR_BOX_ENCODING * cells * cells;
      if (grid.length !== expected)
        throw new ModelError('inference_failed', `face detector returned ${grid.length} values, expected ${expected}`);
      const candidates = decodeGrid({
        grid,
        cells,
        anchors: DETECTOR_ANCHORS,
        scoreThreshold: options.scoreThreshold,
        imageWidth: img.width,
        imageHeight: img.height,
        inputSize,
      });
      return nonMaxSuppression(candidates, options.iouThreshold, inputSize).map((i) => candidates[i]!);
    });
  }

  async function ages(img: RgbImage, crops: readonly CropRect[]): Promise<Float32Array> {
    if (crops.length === 0) return new Float32Array(0);
    const plane = 3 * AGE_INPUT_SIZE * AGE_INPUT_SIZE;
    const batch = new Float32Array(crops.length * plane);
    crops.forEach((crop, i) => faceCropInput(img, crop, AGE_INPUT_SIZE, batch, i * plane));
    return ager.exclusive(async () => {
      const out = await ager.run(new ort.Tensor('float32', batch, [crops.length, 3, AGE_INPUT_SIZE, AGE_INPUT_SIZE]));
      const values = out.data as Float32Array;
      if (values.length !== crops.length)
        throw new ModelError('inference_failed', `age model returned ${values.length} ages for ${crops.length} faces`);
      return values;
    });
  }

  function detect(img: RgbImage): Promise<FaceDetection[]> {
    if (closed) return Promise.reject(new ModelError('inference_failed', 'face model is closed'));
    return inFlight.run(() => detectInFlight(img));
  }

  async function detectInFlight(img: RgbImage): Promise<FaceDetection[]> {
    assertFrame(img);
    const found = await detectFaces(img);
    if (found.length > options.maxFaces) {
      log.debug({ faces: found.length, aged: options.maxFaces }, 'more faces than maxFaces; ageing the best-scoring ones');
    }
    const kept: Array<{ candidate: FaceCandidate; crop: CropRect }> = [];
    for (const candidate of found.slice(0, options.maxFaces)) {
      const crop = clipCrop(cropBoxFor(candidate.box, img.width, img.height), img.width, img.height);
      // A box with less than one whole pixel inside the frame has nothing to age; face-api drops it too.
      if (crop) kept.push({ candidate, crop });
      else log.debug({ box: candidate.box, score: candidate.score }, 'face box has no pixels inside the frame; skipped');
    }
    const estimated = await ages(
      img,
      kept.map((k) => k.crop),
    );
    return kept.map(({ candidate }, i) => ({
      box: toPixels(candidate.box, img.width, img.height),
      score: candidate.score,
      age: estimated[i]!,
    }));
  }

  return {
    get ready() {
      return ready && !closed;
    },
    options,
    async warmUp() {
      if (closed) throw new ModelError('inference_failed', 'face model is closed');
      // A mid-grey frame: runs both sessions through every node once at the real input sizes.
      const grey: RgbImage = { width: inputSize, height: inputSize, data: new Uint8Array(3 * inputSize * inputSize).fill(128) };
      await inFlight.run(async () => {
        await detectFaces(grey);
        await ages(grey, [{ x: 0, y: 0, width: inputSize, height: inputSize }]);
      });
      ready = true;
      log.info('face and age models warmed up');
    },
    detect,
    async analyse(img) {
      const faces = await detect(img);
      return { faces };
    },
    async close() {
      if (closed) return;
      closed = true;
      // New calls are refused from here on, so the in-flight count only falls.
      await inFlight.idle();
      await Promise.allSettled([detector.session.release(), ager.session.release()]);
    },
  };
}

interface Session {
  readonly session: ort.InferenceSession;
  /** Runs `fn` when no other call on this session is running (onnxruntime sessions are used one run at a time here). */
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** One run with the single input, returning the named output. */
  run(input: ort.Tensor): Promise<ort.Tensor>;
}

async function openSession(
  manifest: LoadedManifest,
  id: string,
  sessionOptions: SessionOptions,
  inputName: string,
  outputName: string,
): Promise<Session> {
  const entry = manifest.models.find((m) => m.id === id);
  if (!entry) throw new ModelError('model_invalid', `${manifest.path}: no '${id}' model (run \`npm run models\`)`);
  checkEntry(entry, inputName, outputName);
  const session = await openModelSession(manifest, entry, sessionOptions);
  if (!session.inputNames.includes(inputName) || !session.outputNames.includes(outputName)) {
    await session.release();
    throw new ModelError(
      'model_invalid',
      `${manifest.resolveFile(entry)}: model '${id}' has inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]; expected '${inputName}' → '${outputName}'`,
    );
  }
  let tail: Promise<unknown> = Promise.resolve();
  return {
    session,
    exclusive<T>(fn: () => Promise<T>): Promise<T> {
      const next = tail.then(fn);
      tail = next.catch(() => undefined);
      return next;
    },
    async run(input) {
      try {
        const out = await session.run({ [inputName]: input }, [outputName]);
        const value = out[outputName];
        if (!value) throw new Error(`no '${outputName}' output`);
        return value;
      } catch (err) {
        throw new ModelError('inference_failed', `model '${id}' failed: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}

function checkEntry(entry: ManifestEntry, inputName: string, outputName: string): void {
  const issues: string[] = [];
  if (entry.input && entry.input.name !== inputName) issues.push(`input is '${entry.input.name}', expected '${inputName}'`);
  if (entry.input && entry.input.layout !== 'NCHW') issues.push(`layout is ${entry.input.layout}, expected NCHW`);
  if (entry.input && entry.input.type !== 'float32') issues.push(`input type is ${entry.input.type}, expected float32`);
  if (entry.outputs && !entry.outputs.includes(outputName)) issues.push(`outputs [${entry.outputs.join(', ')}] lack '${outputName}'`);
  if (issues.length)
    throw new ModelError('model_invalid', `manifest entry '${entry.id}' does not describe face-api's network: ${issues.join('; ')}`);
}
