import type { RgbImage } from '../../domain/frame.js';
import type { Logger } from '../../domain/logger.js';
import type { FaceSignal, FrameSignals } from '../../domain/signals.js';
import type { ImageModelOptions } from './image-model.js';
import type { LoadedManifest } from './manifest.js';

/**
 * What the face part reports for one image: faces with box (frame pixels, possibly reaching past
 * the edge as the detector's boxes do), detector score and apparent age.
 */
export interface FaceAgeResult {
  readonly faces: readonly FaceSignal[];
}

/**
 * The face detection + apparent-age part, plugged into the composite classifier
 * (implemented in src/worker/classify/face*.ts). Sessions are created before it is handed over.
 */
export interface FaceAgeModel {
  /** Runs the models once so the first frame does not pay for set-up. */
  warmUp(): Promise<void>;
  analyse(image: RgbImage): Promise<FaceAgeResult>;
  /** Waits for calls already started, then releases the sessions; later calls are refused. */
  close(): Promise<void>;
}

export interface FaceAgeContext {
  readonly manifest: LoadedManifest;
  /** Threads, spinning and batching the composite uses for its own sessions. */
  readonly session: ImageModelOptions;
  /** The composite's logger (a silent one when it was given none): the face part never makes its own. */
  readonly logger: Logger;
}

/**
 * Builds the face part once the manifest is loaded; `undefined` when its models are absent.
 * `faceAgeFactory` (load-face-part.ts) adapts src/worker/classify/face-model.ts to this.
 */
export type FaceAgeFactory = (context: FaceAgeContext) => Promise<FaceAgeModel | undefined>;

/** The pipeline's `FrameClassifier`, with a life cycle. */
export interface Classifier {
  /** False until every session is created and warmed up. */
  readonly ready: boolean;
  /** Ids of the models in use (nudity, face, drop-ins). */
  readonly models: readonly string[];
  /** True when a face/age part is plugged in. */
  readonly faces: boolean;
  start(): Promise<void>;
  classify(image: RgbImage): Promise<FrameSignals>;
  close(): Promise<void>;
}
