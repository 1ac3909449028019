import { AGE_GENDER_MODEL, FACE_DETECTOR_MODEL } from './face-constants.js';
import { createFaceAgeModel } from './face-model.js';
import type { FaceAgeFactory } from './types.js';

/**
 * The face/age part (src/worker/classify/face-model.ts) as the composite classifier's factory. Returns
 * no model when the manifest lacks the face models (a pack built without them), so nudity
 * screening still runs and the classifier reports that faces are off.
 */
export const faceAgeFactory: FaceAgeFactory = async (ctx) => {
  const ids = new Set(ctx.manifest.models.map((m) => m.id));
  if (!ids.has(FACE_DETECTOR_MODEL) || !ids.has(AGE_GENDER_MODEL)) return undefined;
  return createFaceAgeModel({
    manifest: ctx.manifest,
    session: ctx.session,
    logger: ctx.logger,
  });
};
