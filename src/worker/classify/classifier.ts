import { pino } from 'pino';
import type { ClassifierOptions } from '../../config/index.js';
import type { RgbImage } from '../../domain/frame.js';
import { ModelError, StreamscreenError } from '../../domain/errors.js';
import type { Logger } from '../../domain/logger.js';
import type { FrameSignals } from '../../domain/signals.js';
import { createCustomModel, type CustomModel } from './custom.js';
import type { ImageModelOptions } from './image-model.js';
import { loadManifest, type LoadedManifest } from './manifest.js';
import { createNudityModel, type NudityModel } from './nudity.js';
import { scaledFrame } from './resize.js';
import { assertFrame } from './rgb-image.js';
import type { Classifier, FaceAgeFactory, FaceAgeModel } from './types.js';

export interface ClassifierDeps {
  /** The composition root's logger; without one the classifier and its parts log nothing. */
  readonly logger?: Logger;
  /** The face/age part: a ready model, or a factory that builds it from the manifest. */
  readonly faceAge?: FaceAgeModel | FaceAgeFactory;
  /** Use this manifest instead of reading `options.manifestPath`. */
  readonly manifest?: LoadedManifest;
  /**
   * The cascade: given what the nudity and drop-in models said, whether this frame needs the
   * face/age model (worker/policy faceGate: only where apparent age can change a decision).
   * Without it every frame gets faces. A skipped frame's signals have no `faces` (not "none found").
   */
  readonly faceGate?: (signals: Pick<FrameSignals, 'nudity' | 'custom'>) => boolean;
  /** Resolved at load (config/). */
  readonly options: ClassifierOptions;
}

/**
 * The composite frame classifier the pipeline takes as its `FrameClassifier`: nudity model,
 * optional face/age part, and any drop-in classifiers from the manifest, run side by side on
 * each frame. Sessions are created once in `start()` and warmed up before `ready` turns true.
 */
export function createClassifier(deps: ClassifierDeps): Classifier {
  const { options } = deps;
  // The one fallback in this stage, handed down to the parts so none of them makes a logger:
  // the worker always passes its own; callers without one (the classify command, tests) get silence.
  const log: Logger = deps.logger ?? pino({ level: 'silent' });
  let nudity: NudityModel | undefined;
  let face: FaceAgeModel | undefined;
  let custom: CustomModel[] = [];
  let ready = false;
  let starting: Promise<void> | undefined;
  let closed = false;

  async function start(): Promise<void> {
    const manifest = deps.manifest ?? (await loadManifest(options.manifestPath));
    const session: ImageModelOptions = { intraOpThreads: options.intraOpThreads, spinning: options.spinning, maxBatch: options.maxBatch };
    try {
      if (options.nudity) {
        const entries = manifest.models.filter((m) => m.kind === 'nudity');
        if (entries.length !== 1) {
          throw new ModelError(
            'model_invalid',
            `${manifest.path}: expected one model of kind 'nudity', found ${entries.length} (disable the nudity classifier to run without)`,
          );
        }
        nudity = await createNudityModel(manifest, entries[0]!, session);
      }
      if (options.custom) {
        for (const entry of manifest.models.filter((m) => m.kind === 'custom')) {
          custom.push(await createCustomModel(manifest, entry, session));
        }
      }
      if (deps.faceAge) {
        face = typeof deps.faceAge === 'function' ? await deps.faceAge({ manifest, session, logger: log }) : deps.faceAge;
      }
      if (!face) log.warn('no face/age model: frames get no faces and no possible-minor signal');
      if (options.warmUp) {
        await Promise.all([nudity?.warmUp(), face?.warmUp(), ...custom.map((c) => c.warmUp())]);
      }
    } catch (err) {
      await release();
      throw err;
    }
    ready = !closed;
    log.info({ models: modelIds(), intraOpThreads: options.intraOpThreads, maxBatch: options.maxBatch }, 'classifiers ready');
  }

  function modelIds(): string[] {
    return [...(nudity ? [nudity.id] : []), ...(face ? ['face-age'] : []), ...custom.map((c) => c.id)];
  }

  async function release(): Promise<void> {
    const all = [nudity?.close(), face?.close(), ...custom.map((c) => c.close())];
    nudity = undefined;
    face = undefined;
    custom = [];
    await Promise.allSettled(all.filter((p) => p !== undefined));
  }

  return {
    get ready() {
      return ready;
    },
    get models() {
      return modelIds();
    },
    get faces() {
      return face !== undefined;
    },
    start() {
      if (closed) return Promise.reject(new ModelError('inference_failed', 'classifier is closed'));
      starting ??= start();
      return starting;
    },
    async classify(image: RgbImage): Promise<FrameSignals> {
      if (!ready) throw new ModelError('inference_failed', 'classifier is not ready (start() not finished)', { retryable: true });
      // Checked once here, so a malformed frame fails alone, before any model queues it.
      assertFrame(image);
      // Models with the same input size share one scaling of this frame (the face part scales
      // its own way, as face-api does).
      const frame = scaledFrame(image);
      const gate = deps.faceGate;
      const signals: { -readonly [K in keyof FrameSignals]: FrameSignals[K] } = {};
      try {
        // With a gate, faces wait for the other models' verdict (most frames then skip them);
        // without one every model runs side by side.
        const [nud, fa, cs] = await Promise.all([
          nudity?.classify(frame),
          gate ? undefined : face?.analyse(image),
          Promise.all(custom.map((c) => c.signals(frame))),
        ]);
        if (nud) signals.nudity = nud;
        if (cs.length > 0) signals.custom = Object.assign({}, ...cs) as Record<string, number>;
        const faces = fa ?? (face && gate?.(signals) ? await face.analyse(image) : undefined);
        if (faces) signals.faces = faces.faces;
      } catch (err) {
        throw asInferenceError(err);
      }
      return signals;
    },
    async close() {
      if (closed) return;
      closed = true;
      ready = false;
      await starting?.catch(() => undefined);
      await release();
    },
  };
}

/**
 * Callers label metrics and failure events with the error's code, so whatever a library threw
 * (sharp, onnxruntime outside a run) reaches them as inference_failed, retryable like any
 * failed inference; errors that already carry a code pass unchanged.
 */
function asInferenceError(err: unknown): StreamscreenError {
  if (err instanceof StreamscreenError) return err;
  return new ModelError('inference_failed', `classifier failed: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
    retryable: true,
  });
}

/** `createClassifier` + `start()`. */
export async function openClassifier(deps: ClassifierDeps): Promise<Classifier> {
  const c = createClassifier(deps);
  await c.start();
  return c;
}
