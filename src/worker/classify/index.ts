export { createClassifier, openClassifier, type ClassifierDeps } from './classifier.js';
export type { Classifier, FaceAgeModel, FaceAgeResult, FaceAgeFactory, FaceAgeContext } from './types.js';
export { createNudityModel, type NudityModel, type NudityScores } from './nudity.js';
export { createCustomModel, mapSignal, type CustomModel } from './custom.js';
export { createImageModel, type ImageModel, type ImageModelOptions, type ImageOutputs } from './image-model.js';
export {
  loadManifest,
  parseManifest,
  ManifestSchema,
  ManifestEntrySchema,
  MANIFEST_VERSION,
  type Manifest,
  type ManifestEntry,
  type LoadedManifest,
  type ModelInputSpec,
  type SignalMapping,
} from './manifest.js';
export { createSession, createBatchQueue, type SessionOptions, type BatchQueue } from './session.js';
export { buildInputTensor } from './input-tensor.js';
export { resizeRgb, scaleRgb, scaledFrame, type ScaledFrame } from './resize.js';
export { rgbImageProblem, assertRgbImage, assertFrame } from './rgb-image.js';
export { faceAgeFactory } from './load-face-part.js';
