/**
 * Facts about the two face-api@1.7.15 networks (TinyFaceDetector, AgeGenderNet) that both the
 * converter (tools/model-builder/convert-face.ts) and the runtime (face-model.ts) must agree on. They come
 * from the network definitions in face-api's code; the package ships weights but no topology.
 */

/** Package the weights come from; the manifest records it and the converter checks it. */
export const FACE_API_PACKAGE = '@vladmandic/face-api';
export const FACE_API_VERSION = '1.7.15';

export const FACE_DETECTOR_MODEL = 'face-detector';
export const AGE_GENDER_MODEL = 'age-gender';

/**
 * TinyFaceDetector: a TinyYolov2 variant with separable convs. Its input is the frame padded
 * with black at the bottom or right to a square, resized bilinearly to `inputSize`, then
 * `(rgb − MEAN) / 255`. face-api's default input size is 416; any multiple of 32 works.
 */
export const DETECTOR_MEAN_RGB: readonly [number, number, number] = [117.001, 114.697, 97.404];
export const DETECTOR_DEFAULT_INPUT_SIZE = 416;
/** The output grid is inputSize / 32 cells on a side: conv0 'valid' loses 2 px, five stride-2 pools. */
export const DETECTOR_STRIDE = 32;
/** (width, height) of each of the 5 anchors, in grid cells. */
export const DETECTOR_ANCHORS: ReadonlyArray<readonly [number, number]> = [
  [1.603231, 2.094468],
  [6.041143, 7.080126],
  [2.882459, 3.518061],
  [4.266906, 5.178857],
  [9.041765, 10.66308],
];
/** Per anchor: x, y, w, h, objectness (one class, so no class scores). */
export const DETECTOR_BOX_ENCODING = 5;
/** face-api's defaults: detections need score > 0.5; NMS drops overlaps with IoU > 0.4. */
export const DETECTOR_DEFAULT_SCORE_THRESHOLD = 0.5;
export const DETECTOR_DEFAULT_IOU_THRESHOLD = 0.4;

/**
 * AgeGenderNet: a TinyXception feature extractor (2 middle blocks) on 112×112 face crops, the
 * crop padded with black to a square (centred), resized bilinearly, then `(rgb − MEAN) / 255`.
 * Outputs: apparent age in years (regression) and softmax over [male, female].
 */
export const AGE_MEAN_RGB: readonly [number, number, number] = [122.782, 117.001, 104.298];
export const AGE_INPUT_SIZE = 112;
export const GENDER_LABELS = ['male', 'female'] as const;

/**
 * Accuracy the upstream project reports for the age model (mean absolute error in years). These
 * are the publisher's figures on its own test data, recorded so operators can judge the signal.
 */
export const AGE_UPSTREAM_MAE_YEARS = { overall: 4.54, ages9to18: 4.82 } as const;
