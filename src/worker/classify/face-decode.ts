/**
 * Turning the TinyFaceDetector's raw grid into face boxes: YOLOv2 decoding, score threshold,
 * non-maximum suppression, and scaling to the frame's pixels. Pure functions; the order of
 * operations follows face-api's TinyYolov2Base.detect so boxes match it to float precision.
 */

/** A box relative to the original frame: 0..1 on each axis (may spill over the edges). */
export interface RelativeBox {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface FaceCandidate {
  readonly box: RelativeBox;
  /** sigmoid(objectness), 0..1. */
  readonly score: number;
}

export interface DecodeGridOptions {
  /** Raw `grid` output of one image, NCHW: channel a·5 + k for anchor a, field k (x, y, w, h, objectness). */
  readonly grid: Float32Array | readonly number[];
  /** Cells per side (the grid is square: the detector input is padded to a square). */
  readonly cells: number;
  /** (width, height) of each anchor, in cells. */
  readonly anchors: ReadonlyArray<readonly [number, number]>;
  /** Keep candidates with score strictly above this. */
  readonly scoreThreshold: number;
  /** The frame's size: the non-padded part of the square input is what boxes are relative to. */
  readonly imageWidth: number;
  readonly imageHeight: number;
  /** Detector input size (pixels per side). */
  readonly inputSize: number;
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * Decodes every cell and anchor whose score passes the threshold, in face-api's order (row,
 * column, anchor). Box centres are `(cell + sigmoid(t)) / cells`, sizes `exp(t)·anchor / cells`,
 * then stretched by `inputSize / scaledSide` on each axis because the frame filled only the
 * top-left part of the padded square (face-api computes the scaled sides with Math.round).
 */
export function decodeGrid(o: DecodeGridOptions): FaceCandidate[] {
  const { grid, cells, anchors, scoreThreshold } = o;
  const fields = 5;
  const plane = cells * cells;
  if (grid.length !== anchors.length * fields * plane) {
    throw new RangeError(
      `grid has ${grid.length} values, expected ${anchors.length}·${fields}·${cells}² = ${anchors.length * fields * plane}`,
    );
  }
  const scale = o.inputSize / Math.max(o.imageWidth, o.imageHeight);
  const scaledWidth = Math.round(o.imageWidth * scale);
  const scaledHeight = Math.round(o.imageHeight * scale);
  const side = Math.max(scaledWidth, scaledHeight);
  const correctX = side / scaledWidth;
  const correctY = side / scaledHeight;

  const out: FaceCandidate[] = [];
  for (let row = 0; row < cells; row++) {
    for (let col = 0; col < cells; col++) {
      const cell = row * cells + col;
      for (let a = 0; a < anchors.length; a++) {
        const at = (f: number): number => grid[(a * fields + f) * plane + cell]!;
        const score = sigmoid(at(4));
        if (!(score > scoreThreshold)) continue;
        const [anchorW, anchorH] = anchors[a]!;
        const cx = ((col + sigmoid(at(0))) / cells) * correctX;
        const cy = ((row + sigmoid(at(1))) / cells) * correctY;
        const w = ((Math.exp(at(2)) * anchorW) / cells) * correctX;
        const h = ((Math.exp(at(3)) * anchorH) / cells) * correctY;
        const x = cx - w / 2;
        const y = cy - h / 2;
        // face-api keeps (left, top, right, bottom) and derives the width back from them.
        out.push({ box: { x, y, width: x + w - x, height: y + h - y }, score });
      }
    }
  }
  return out;
}

/** Intersection over union of two boxes given as x, y, width, height. */
export function iou(a: RelativeBox, b: RelativeBox): number {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/**
 * Greedy NMS: take the best-scoring candidate, drop every remaining one that overlaps it with
 * IoU above `iouThreshold`, repeat. Returns indices in pick order (best first). Ties go to the
 * later candidate, as in face-api (stable ascending sort, then pop from the end). `scale`
 * multiplies coordinates before the IoU, which face-api does with the input size; it only
 * matters through float rounding, and is kept so results match exactly.
 */
export function nonMaxSuppression(candidates: readonly FaceCandidate[], iouThreshold: number, scale = 1): number[] {
  const boxes = candidates.map(({ box }) => ({ x: box.x * scale, y: box.y * scale, width: box.width * scale, height: box.height * scale }));
  let remaining = candidates
    .map((c, index) => ({ score: c.score, index }))
    .sort((p, q) => p.score - q.score)
    .map((c) => c.index);
  const picked: number[] = [];
  while (remaining.length > 0) {
    const best = remaining.pop()!;
    picked.push(best);
    remaining = remaining.filter((i) => iou(boxes[best]!, boxes[i]!) <= iouThreshold);
  }
  return picked;
}

/** A relative box in the frame's pixels, as [x, y, width, height]. */
export function toPixels(box: RelativeBox, imageWidth: number, imageHeight: number): [number, number, number, number] {
  return [box.x * imageWidth, box.y * imageHeight, box.width * imageWidth, box.height * imageHeight];
}

/**
 * The crop rectangle face-api cuts for a detection. It takes the detection's pixel box back to
 * relative (× 1/size) and out to pixels again before clipping; the round trip can move a
 * coordinate by one ulp, which decides a floor() at an exact pixel edge, so it is kept.
 */
export function cropBoxFor(box: RelativeBox, imageWidth: number, imageHeight: number): RelativeBox {
  const [px, py, pw, ph] = toPixels(box, imageWidth, imageHeight);
  const rx = 1 / imageWidth;
  const ry = 1 / imageHeight;
  return { x: px * rx * imageWidth, y: py * ry * imageHeight, width: pw * rx * imageWidth, height: ph * ry * imageHeight };
}
