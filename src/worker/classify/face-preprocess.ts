/**
 * Frame → network input tensors for the face models, reproducing what face-api does with an
 * image tensor (NetInput.toBatchTensor): pad to a square with black, then
 * `tf.image.resizeBilinear(alignCorners = false, halfPixelCenters = false)`.
 *
 * The arithmetic mirrors tfjs's CPU kernel step for step (source position = out·(in/out),
 * floor/ceil neighbours clamped to the edge, lerp along x then y in float64, one float32
 * rounding), so the tensors equal face-api's bit for bit on integer pixels. The padding is never
 * materialised: samples that land in it read 0.
 *
 * Outputs are NCHW float32 RGB in 0..255; mean subtraction and /255 are inside the ONNX graphs.
 */
import type { RgbImage } from '../../domain/frame.js';
import { assertRgbImage } from './rgb-image.js';

/** A region of `image` placed at (`padLeft`, `padTop`) inside a black square of side `side`. */
interface SquareSource {
  readonly image: RgbImage;
  /** Top-left of the region in the image. */
  readonly x0: number;
  readonly y0: number;
  readonly width: number;
  readonly height: number;
  readonly side: number;
  readonly padLeft: number;
  readonly padTop: number;
}

/**
 * The detector input: the frame padded at the bottom or right (face-api pads the end, not the
 * centre, for detection) to a square, resized to `size`×`size`. Writes into `out` when given
 * (length 3·size²) so a caller can reuse one buffer per frame.
 */
export function detectorInput(image: RgbImage, size: number, out?: Float32Array): Float32Array {
  assertRgbImage(image);
  const side = Math.max(image.width, image.height);
  return resizeSquare({ image, x0: 0, y0: 0, width: image.width, height: image.height, side, padLeft: 0, padTop: 0 }, size, out);
}

/** A whole-pixel crop rectangle inside the image. */
export interface CropRect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/**
 * The crop face-api cuts for a detection (`Box.clipAtImageBorders`): clip the box to the image,
 * then floor x, y, width and height. Null when nothing of the box is inside the image.
 */
export function clipCrop(box: CropRect, imageWidth: number, imageHeight: number): CropRect | null {
  const x = Math.max(box.x, 0);
  const y = Math.max(box.y, 0);
  const width = Math.min(box.x + box.width - x, imageWidth - x);
  const height = Math.min(box.y + box.height - y, imageHeight - y);
  const crop = { x: Math.floor(x), y: Math.floor(y), width: Math.floor(width), height: Math.floor(height) };
  return crop.width > 0 && crop.height > 0 ? crop : null;
}

/**
 * The age model's input for one crop: the crop padded with black to a centred square (face-api's
 * padToSquare(isCenterImage = true): the larger half, rounded up, goes after the image), resized
 * to `size`×`size`. Writes into `out` at `offset` (for batching several faces in one tensor).
 */
export function faceCropInput(image: RgbImage, crop: CropRect, size: number, out?: Float32Array, offset = 0): Float32Array {
  assertRgbImage(image);
  if (
    crop.width <= 0 ||
    crop.height <= 0 ||
    crop.x < 0 ||
    crop.y < 0 ||
    crop.x + crop.width > image.width ||
    crop.y + crop.height > image.height
  ) {
    throw new RangeError(`crop ${JSON.stringify(crop)} is not inside the ${image.width}x${image.height} image`);
  }
  const side = Math.max(crop.width, crop.height);
  const diff = side - Math.min(crop.width, crop.height);
  const before = diff - Math.round(diff * 0.5);
  const padsWidth = crop.height > crop.width;
  return resizeSquare(
    {
      image,
      x0: crop.x,
      y0: crop.y,
      width: crop.width,
      height: crop.height,
      side,
      padLeft: padsWidth ? before : 0,
      padTop: padsWidth ? 0 : before,
    },
    size,
    out,
    offset,
  );
}

function resizeSquare(src: SquareSource, size: number, out?: Float32Array, offset = 0): Float32Array {
  if (!Number.isInteger(size) || size <= 0) throw new RangeError(`resize target must be a positive integer, got ${size}`);
  const plane = size * size;
  const result = out ?? new Float32Array(3 * plane);
  if (result.length < offset + 3 * plane) throw new RangeError(`output buffer holds ${result.length} values, needs ${offset + 3 * plane}`);

  // Per output column: the two source columns (byte offsets into an image row) with a 0/1 mask
  // that zeroes samples falling in the padding, and the fraction between them; rows likewise.
  // Same formulas as tfjs's kernel; multiplying by an exact 0 or 1 keeps the result bit-equal.
  const ratio = src.side / size;
  const { cols, rows } = axesFor(size);
  neighbours(cols, size, ratio, src.side, src.padLeft, src.width, src.x0 * 3, 3);
  neighbours(rows, size, ratio, src.side, src.padTop, src.height, src.y0 * src.image.width * 3, src.image.width * 3);
  const data = src.image.data;
  const plane2 = 2 * plane;

  for (let r = 0; r < size; r++) {
    const top = rows.lo[r]!;
    const bottom = rows.hi[r]!;
    const topMask = rows.loMask[r]!;
    const bottomMask = rows.hiMask[r]!;
    const rowFrac = rows.frac[r]!;
    let at = offset + r * size;
    for (let c = 0; c < size; c++, at++) {
      const left = cols.lo[c]!;
      const right = cols.hi[c]!;
      const colFrac = cols.frac[c]!;
      const mTL = topMask * cols.loMask[c]!;
      const mTR = topMask * cols.hiMask[c]!;
      const mBL = bottomMask * cols.loMask[c]!;
      const mBR = bottomMask * cols.hiMask[c]!;
      const tl = top + left;
      const tr = top + right;
      const bl = bottom + left;
      const br = bottom + right;
      result[at] = lerp2(data[tl]! * mTL, data[tr]! * mTR, data[bl]! * mBL, data[br]! * mBR, colFrac, rowFrac);
      result[at + plane] = lerp2(data[tl + 1]! * mTL, data[tr + 1]! * mTR, data[bl + 1]! * mBL, data[br + 1]! * mBR, colFrac, rowFrac);
      result[at + plane2] = lerp2(data[tl + 2]! * mTL, data[tr + 2]! * mTR, data[bl + 2]! * mBL, data[br + 2]! * mBR, colFrac, rowFrac);
    }
  }
  return result;
}

/** tfjs's order: along x on the top and bottom rows, then along y (float64, rounded by the caller's store). */
function lerp2(topLeft: number, topRight: number, bottomLeft: number, bottomRight: number, colFrac: number, rowFrac: number): number {
  const upper = topLeft + (topRight - topLeft) * colFrac;
  const lower = bottomLeft + (bottomRight - bottomLeft) * colFrac;
  return upper + (lower - upper) * rowFrac;
}

/** Per output index along one axis: the two source byte offsets, their 0/1 masks, the fraction. */
interface Axis {
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  readonly loMask: Float64Array;
  readonly hiMask: Float64Array;
  readonly frac: Float64Array;
}

/**
 * Column and row tables per output size, reused by every call: the detector runs once a frame
 * at one size and every face crop goes to 112, so allocating ten typed arrays a call was pure
 * garbage. Refilling them costs O(size), noise beside the O(size²) resize they serve; keyed by
 * size, not by the whole geometry, because crop boxes differ on every frame. Safe to share:
 * resizeSquare is synchronous and nothing keeps the tables past it.
 */
const scratch = new Map<number, { readonly cols: Axis; readonly rows: Axis }>();
const MAX_SCRATCH_SIZES = 8;

function axesFor(size: number): { readonly cols: Axis; readonly rows: Axis } {
  let axes = scratch.get(size);
  if (!axes) {
    const axis = (): Axis => ({
      lo: new Int32Array(size),
      hi: new Int32Array(size),
      loMask: new Float64Array(size),
      hiMask: new Float64Array(size),
      frac: new Float64Array(size),
    });
    axes = { cols: axis(), rows: axis() };
    if (scratch.size >= MAX_SCRATCH_SIZES) scratch.clear();
    scratch.set(size, axes);
  }
  return axes;
}

/**
 * Fills `axis` for each output index: source index floor/ceil (clamped to the padded square),
 * mapped to a byte offset in the image (`base + (i − pad)·stride`) with mask 1, or to offset 0
 * with mask 0 when it falls in the padding.
 */
function neighbours(
  axis: Axis,
  size: number,
  ratio: number,
  side: number,
  pad: number,
  extent: number,
  base: number,
  stride: number,
): void {
  const { lo, hi, loMask, hiMask, frac } = axis;
  for (let o = 0; o < size; o++) {
    const pos = ratio * o;
    const floor = Math.max(0, Math.floor(pos));
    const ceil = Math.min(side - 1, Math.ceil(pos));
    const fi = floor - pad;
    const ci = ceil - pad;
    const loInside = fi >= 0 && fi < extent;
    const hiInside = ci >= 0 && ci < extent;
    lo[o] = loInside ? base + fi * stride : 0;
    hi[o] = hiInside ? base + ci * stride : 0;
    loMask[o] = loInside ? 1 : 0;
    hiMask[o] = hiInside ? 1 : 0;
    frac[o] = pos - floor;
  }
}
