import { describe, expect, it } from 'vitest';
import { DETECTOR_ANCHORS } from '../../../src/worker/classify/face-constants.js';
import {
  cropBoxFor,
  decodeGrid,
  iou,
  nonMaxSuppression,
  sigmoid,
  toPixels,
  type FaceCandidate,
} from '../../../src/worker/classify/face-decode.js';

const logit = (p: number): number => Math.log(p / (1 - p));

/** A grid of `cells`² with every objectness very negative, and the given cells/anchors set. */
function grid(
  cells: number,
  set: Array<{ row: number; col: number; anchor: number; values: [number, number, number, number, number] }>,
): Float32Array {
  const plane = cells * cells;
  const g = new Float32Array(DETECTOR_ANCHORS.length * 5 * plane);
  for (let a = 0; a < DETECTOR_ANCHORS.length; a++) g.fill(-20, (a * 5 + 4) * plane, (a * 5 + 5) * plane);
  for (const { row, col, anchor, values } of set) values.forEach((v, k) => (g[(anchor * 5 + k) * plane + row * cells + col] = v));
  return g;
}

describe('decodeGrid', () => {
  it('decodes centre, size and score of one anchor in one cell (square frame)', () => {
    const cells = 13;
    // sigmoid(0) = 0.5: centre in the middle of cell (row 4, col 6); exp(0) = 1: anchor-sized box.
    const g = grid(cells, [{ row: 4, col: 6, anchor: 1, values: [0, 0, 0, 0, logit(0.9)] }]);
    const out = decodeGrid({
      grid: g,
      cells,
      anchors: DETECTOR_ANCHORS,
      scoreThreshold: 0.5,
      imageWidth: 832,
      imageHeight: 832,
      inputSize: 416,
    });
    expect(out).toHaveLength(1);
    const [aw, ah] = DETECTOR_ANCHORS[1]!;
    const c = out[0]!;
    expect(c.score).toBeCloseTo(0.9, 6);
    expect(c.box.width).toBeCloseTo(aw / cells, 12);
    expect(c.box.height).toBeCloseTo(ah / cells, 12);
    expect(c.box.x + c.box.width / 2).toBeCloseTo(6.5 / cells, 12);
    expect(c.box.y + c.box.height / 2).toBeCloseTo(4.5 / cells, 12);
  });

  it('stretches boxes of a wide frame vertically: the frame filled only the top of the padded square', () => {
    const cells = 13;
    const g = grid(cells, [{ row: 2, col: 2, anchor: 0, values: [logit(0.25), logit(0.75), Math.log(2), 0, 3] }]);
    // 1000×500 at 416: scaled to 416×208, so y positions and heights are ×2 relative to the frame.
    const [c] = decodeGrid({
      grid: g,
      cells,
      anchors: DETECTOR_ANCHORS,
      scoreThreshold: 0.5,
      imageWidth: 1000,
      imageHeight: 500,
      inputSize: 416,
    });
    const [aw, ah] = DETECTOR_ANCHORS[0]!;
    // The grid holds float32, so the logits carry ~1e-8 of rounding.
    expect(c!.box.x + c!.box.width / 2).toBeCloseTo(2.25 / cells, 7);
    expect(c!.box.y + c!.box.height / 2).toBeCloseTo((2.75 / cells) * 2, 7);
    expect(c!.box.width).toBeCloseTo((2 * aw) / cells, 7);
    expect(c!.box.height).toBeCloseTo((ah / cells) * 2, 7);
  });

  it('uses face-api’s rounded scaled size for the stretch (3:2 frame whose scaled height is not whole)', () => {
    const cells = 13;
    const g = grid(cells, [{ row: 0, col: 0, anchor: 0, values: [0, 0, 0, 0, 3] }]);
    const [c] = decodeGrid({
      grid: g,
      cells,
      anchors: DETECTOR_ANCHORS,
      scoreThreshold: 0.5,
      imageWidth: 999,
      imageHeight: 667,
      inputSize: 416,
    });
    const scaledHeight = Math.round(667 * (416 / 999)); // 278, not 277.73…
    expect(c!.box.y + c!.box.height / 2).toBeCloseTo((0.5 / cells) * (416 / scaledHeight), 12);
  });

  it('keeps only scores strictly above the threshold and walks row, column, anchor', () => {
    const cells = 2;
    const g = grid(cells, [
      { row: 1, col: 0, anchor: 4, values: [0, 0, 0, 0, logit(0.8)] },
      { row: 0, col: 1, anchor: 2, values: [0, 0, 0, 0, logit(0.7)] },
      { row: 0, col: 1, anchor: 0, values: [0, 0, 0, 0, logit(0.6)] },
      { row: 1, col: 1, anchor: 0, values: [0, 0, 0, 0, 0] }, // exactly 0.5: not above 0.5
    ]);
    const out = decodeGrid({
      grid: g,
      cells,
      anchors: DETECTOR_ANCHORS,
      scoreThreshold: 0.5,
      imageWidth: 64,
      imageHeight: 64,
      inputSize: 64,
    });
    expect(out.map((c) => Number(c.score.toFixed(3)))).toEqual([0.6, 0.7, 0.8]);
  });

  it('refuses a grid of the wrong size', () => {
    expect(() =>
      decodeGrid({
        grid: new Float32Array(10),
        cells: 13,
        anchors: DETECTOR_ANCHORS,
        scoreThreshold: 0.5,
        imageWidth: 1,
        imageHeight: 1,
        inputSize: 416,
      }),
    ).toThrow(/expected/);
  });
});

describe('iou and nonMaxSuppression', () => {
  const box = (x: number, y: number, width: number, height: number) => ({ x, y, width, height });
  const cand = (score: number, b: ReturnType<typeof box>): FaceCandidate => ({ score, box: b });

  it('computes intersection over union', () => {
    expect(iou(box(0, 0, 2, 2), box(1, 1, 2, 2))).toBeCloseTo(1 / 7, 12);
    expect(iou(box(0, 0, 1, 1), box(2, 2, 1, 1))).toBe(0);
    expect(iou(box(0, 0, 1, 1), box(0, 0, 1, 1))).toBe(1);
  });

  it('keeps the best box of an overlapping cluster and every separate one, best first', () => {
    const picked = nonMaxSuppression(
      [cand(0.6, box(0, 0, 10, 10)), cand(0.9, box(1, 1, 10, 10)), cand(0.7, box(50, 50, 10, 10)), cand(0.8, box(0, 1, 10, 10))],
      0.4,
    );
    expect(picked).toEqual([1, 2]);
  });

  it('keeps a box whose IoU equals the threshold (drops only above it)', () => {
    // Overlap 1×2 = 2, union 4 + 4 − 2 = 6: IoU 1/3.
    const a = box(0, 0, 2, 2);
    const b = box(1, 0, 2, 2);
    expect(iou(a, b)).toBeCloseTo(1 / 3, 15);
    expect(nonMaxSuppression([cand(0.9, a), cand(0.8, b)], iou(a, b))).toEqual([0, 1]);
    expect(nonMaxSuppression([cand(0.9, a), cand(0.8, b)], 0.3)).toEqual([0]);
  });

  it('breaks score ties towards the later candidate, as face-api does', () => {
    expect(nonMaxSuppression([cand(0.5, box(0, 0, 4, 4)), cand(0.5, box(0, 0, 4, 4))], 0.4)).toEqual([1]);
  });

  it('handles no candidates', () => {
    expect(nonMaxSuppression([], 0.4)).toEqual([]);
  });
});

describe('pixel boxes', () => {
  it('scales relative boxes to the frame', () => {
    expect(toPixels({ x: 0.25, y: 0.5, width: 0.5, height: 0.25 }, 640, 360)).toEqual([160, 180, 320, 90]);
  });

  it('crop box equals the pixel box up to the relative round trip', () => {
    const rel = { x: 0.1234, y: -0.01, width: 0.3, height: 0.41 };
    const crop = cropBoxFor(rel, 1432, 812);
    const px = toPixels(rel, 1432, 812);
    expect(Math.abs(crop.x - px[0])).toBeLessThan(1e-9);
    expect(Math.abs(crop.height - px[3])).toBeLessThan(1e-9);
  });

  it('sigmoid is the logistic function', () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(logit(0.2))).toBeCloseTo(0.2, 12);
  });
});
