/**
 * PDQ's heavy steps as WebAssembly kernels (see wasm-asm.ts for why), each a literal
 * float32 transcription of the reference:
 *  - luma: (0.299 R + 0.587 G) + 0.114 B, each product and sum rounded to float32, four
 *    pixels per f32x4; lumaGrey: the grey value itself, for images whose pixels are all grey
 *    (see pdq-hasher.ts for why); allGrey: whether every pixel of a run of RGB bytes is grey;
 *  - boxRows4 / boxRows1: the box filter along rows, with the reference's running sum (add
 *    entering sample, subtract leaving one, divide by the current window size) kept per row;
 *    four rows run side by side so their serial sums overlap in the CPU;
 *  - boxCols: the same filter down columns, four columns per f32x4 lane group, running sums
 *    kept in memory row by row (each lane is its own column's exact sum);
 *  - dct: B = D A D^T for the 16x64 DCT matrix, each element summing k = 0..63 in order.
 *
 * All state lives in one fixed-size memory (never grown, so JS views on it stay valid).
 * Planes are row-major float32 with a row stride rounded up to 4 floats so f32x4 column
 * groups never straddle rows; the padding columns are computed but never read.
 */
import { assembleModule, FunctionBuilder } from './wasm-asm.js';

/** Largest side the kernels accept; bigger images are reduced to 512x512 first. */
export const KERNEL_MAX_SIDE = 512;

/** Byte offsets of the regions in the kernel memory. */
export const LAYOUT = (() => {
  const plane = KERNEL_MAX_SIDE * KERNEL_MAX_SIDE * 4;
  const rgb = 0;
  const planeA = rgb + KERNEL_MAX_SIDE * KERNEL_MAX_SIDE * 3;
  const planeB = planeA + plane;
  const sums = planeB + plane;
  const rowCounts = sums + KERNEL_MAX_SIDE * 4;
  const colCounts = rowCounts + KERNEL_MAX_SIDE * 4;
  const dct = colCounts + KERNEL_MAX_SIDE * 4;
  const dctT = dct + 16 * 64 * 4;
  const a64 = dctT + 64 * 16 * 4;
  const t16x64 = a64 + 64 * 64 * 4;
  const b16 = t16x64 + 16 * 64 * 4;
  const flag = b16 + 16 * 16 * 4;
  // 16 spare bytes: allGrey's last comparison reads one byte past the run it checks.
  const end = flag + 16;
  return { rgb, planeA, planeB, sums, rowCounts, colCounts, dct, dctT, a64, t16x64, b16, flag, end } as const;
})();

const PAGE = 65536;
const MEMORY_PAGES = Math.ceil(LAYOUT.end / PAGE);

/** RGB bytes at `src` (rows x cols x 3, packed) to float luma at `dst` (row stride in floats). */
export type LumaKernel = (src: number, dst: number, rows: number, cols: number, stride: number) => void;

export interface PdqKernels {
  readonly u8: Uint8Array;
  readonly f32: Float32Array;
  readonly luma: LumaKernel;
  /** The same layout, luma = R (for images whose pixels are all grey). */
  readonly lumaGrey: LumaKernel;
  /** Stores at `flag` (i32) 1 when the `bytes` RGB bytes at `src` (a multiple of 48) are all grey pixels, else 0. */
  allGrey(src: number, bytes: number, flag: number): void;
  /** Box filter along `rows` rows (a multiple of 4 for boxRows4). counts: f32 window size per column. */
  boxRows4(
    input: number,
    out: number,
    rows: number,
    cols: number,
    stride: number,
    counts: number,
    lead: number,
    grow: number,
    shrinkFrom: number,
  ): void;
  boxRows1(
    input: number,
    out: number,
    rows: number,
    cols: number,
    stride: number,
    counts: number,
    lead: number,
    grow: number,
    shrinkFrom: number,
  ): void;
  /** Box filter down every column; counts: f32 window size per row. */
  boxCols(
    input: number,
    out: number,
    sums: number,
    rows: number,
    stride: number,
    counts: number,
    lead: number,
    grow: number,
    shrinkFrom: number,
  ): void;
  /** 16x16 DCT of the 64x64 block at a64 (matrix at dct, its transpose at dctT, scratch t). */
  dct(a64: number, dct: number, dctT: number, t: number, b: number): void;
}

/**
 * Four pixels per step: one 16-byte load holds 4 RGB triplets (12 bytes, 4 spare), and a byte
 * shuffle against zero spreads each channel into four i32 lanes, which convert exactly to f32.
 * Rows are processed in groups of 4 pixels; the last group may spill into the row's padding
 * columns (stride is a multiple of 4) and reads past the row's last byte, both harmless.
 */
function lumaKernel(grey: boolean): FunctionBuilder {
  const fn = new FunctionBuilder(grey ? 'lumaGrey' : 'luma', ['src', 'dst', 'rows', 'cols', 'stride'], {
    r: 'i32',
    c: 'i32',
    p: 'i32',
    q: 'i32',
    px: 'v128',
  });
  const ZERO = 16; // shuffle index of a byte from the all-zero second operand
  const spread = (offset: number) => {
    fn.get('px').v128(new Array<number>(16).fill(0));
    fn.shuffle([0, 1, 2, 3].flatMap((i) => [i * 3 + offset, ZERO, ZERO, ZERO]));
    fn.op('f32x4.convert_i32x4_s');
  };
  const channel = (coefficient: number, offset: number) => {
    fn.f32(coefficient).op('f32x4.splat');
    spread(offset);
    fn.op('f32x4.mul');
  };
  fn.i32(0).set('r');
  fn.whileLess('r', 'rows', 1, () => {
    fn.get('r').get('cols').op('i32.mul').i32(3).op('i32.mul').get('src').op('i32.add').set('p');
    fn.get('r').get('stride').op('i32.mul').i32(2).op('i32.shl').get('dst').op('i32.add').set('q');
    fn.i32(0).set('c');
    fn.whileLess('c', 'cols', 4, () => {
      fn.get('p').mem('v128.load').set('px');
      fn.get('q');
      if (grey) {
        spread(0);
      } else {
        channel(0.299, 0);
        channel(0.587, 1);
        fn.op('f32x4.add');
        channel(0.114, 2);
        fn.op('f32x4.add');
      }
      fn.mem('v128.store');
      fn.inc('p', 12).inc('q', 16);
    });
  });
  return fn;
}

/**
 * 16 pixels (48 bytes, three vectors) per step: a pixel is grey when byte j equals byte j+1 for
 * its first two bytes, so each vector is compared with itself shifted by one byte and the
 * comparisons of each pixel's third byte (with the next pixel's first) are masked off. Leaves
 * the loop at the first colour pixel: a colour frame usually shows one within a few pixels.
 */
function allGreyKernel(): FunctionBuilder {
  const fn = new FunctionBuilder('allGrey', ['src', 'bytes', 'flag'], { p: 'i32', end: 'i32', bad: 'v128' });
  const mask = (start: number) => Array.from({ length: 16 }, (_, j) => ((start + j) % 3 === 2 ? 0 : 0xff));
  fn.get('src').get('bytes').op('i32.add').set('end');
  fn.v128(new Array<number>(16).fill(0)).set('bad');
  fn.get('src').set('p');
  fn.whileLess('p', 'end', 48, () => {
    for (const offset of [0, 16, 32]) {
      fn.get('bad').v128(mask(offset));
      fn.get('p')
        .mem('v128.load', offset)
        .get('p')
        .mem('v128.load', offset + 1)
        .op('i8x16.eq');
      fn.op('v128.andnot', 'v128.or').set('bad');
    }
    fn.get('bad').op('v128.any_true');
    fn.ifTrue(() => fn.get('end').set('p'));
  });
  fn.get('flag').get('bad').op('v128.any_true', 'i32.eqz').mem('i32.store');
  return fn;
}

const BOX_PARAMS = ['input', 'out', 'rows', 'n', 'stride', 'counts', 'lead', 'grow', 'shrinkFrom'] as const;

/** Box filter along rows, `lanes` rows at a time, one f32 running sum per row. */
function boxRowsKernel(lanes: 1 | 4): FunctionBuilder {
  const sums = Array.from({ length: lanes }, (_, l) => `s${l}`);
  const fn = new FunctionBuilder(`boxRows${lanes}`, BOX_PARAMS, {
    rowBytes: 'i32',
    row2: 'i32',
    row3: 'i32',
    r: 'i32',
    o: 'i32',
    k: 'i32',
    pa: 'i32',
    ps: 'i32',
    po: 'i32',
    pc: 'i32',
    cnt: 'f32',
    ...Object.fromEntries(sums.map((s) => [s, 'f32'])),
  });
  const laneOffsets = [null, 'rowBytes', 'row2', 'row3'] as const;
  const address = (ptr: string, lane: number) => {
    fn.get(ptr);
    const off = laneOffsets[lane];
    if (off) fn.get(off).op('i32.add');
  };
  const each = (body: (sum: string, lane: number) => void) => sums.forEach((s, l) => body(s, l));
  const add = (ptr: string) =>
    each((s, l) => {
      fn.get(s);
      address(ptr, l);
      fn.mem('f32.load').op('f32.add').set(s);
    });
  const sub = (ptr: string) =>
    each((s, l) => {
      fn.get(s);
      address(ptr, l);
      fn.mem('f32.load').op('f32.sub').set(s);
    });
  const store = () => {
    fn.get('pc').mem('f32.load').set('cnt');
    each((s, l) => {
      address('po', l);
      fn.get(s).get('cnt').op('f32.div').mem('f32.store');
    });
    fn.inc('po', 4).inc('pc', 4);
  };

  fn.get('stride').i32(2).op('i32.shl').set('rowBytes');
  fn.get('rowBytes').i32(1).op('i32.shl').set('row2');
  fn.get('row2').get('rowBytes').op('i32.add').set('row3');
  fn.i32(0).set('r');
  fn.whileLess('r', 'rows', lanes, () => {
    fn.get('r').get('rowBytes').op('i32.mul').get('input').op('i32.add').set('pa');
    fn.get('pa').set('ps');
    fn.get('r').get('rowBytes').op('i32.mul').get('out').op('i32.add').set('po');
    fn.get('counts').set('pc');
    each((s) => fn.f32(0).set(s));
    fn.i32(0).set('k');
    fn.whileLess('k', 'lead', 1, () => {
      add('pa');
      fn.inc('pa', 4);
    });
    fn.i32(0).set('o');
    fn.whileLess('o', 'grow', 1, () => {
      add('pa');
      fn.inc('pa', 4);
      store();
    });
    fn.whileLess('o', 'shrinkFrom', 1, () => {
      add('pa');
      sub('ps');
      fn.inc('pa', 4).inc('ps', 4);
      store();
    });
    fn.whileLess('o', 'n', 1, () => {
      sub('ps');
      fn.inc('ps', 4);
      store();
    });
  });
  return fn;
}

/** Box filter down columns: f32x4 over four columns at a time, sums kept in memory per row. */
function boxColsKernel(): FunctionBuilder {
  const fn = new FunctionBuilder('boxCols', ['input', 'out', 'sums', 'rows', 'stride', 'counts', 'lead', 'grow', 'shrinkFrom'], {
    rowBytes: 'i32',
    c: 'i32',
    o: 'i32',
    k: 'i32',
    pa: 'i32',
    ps: 'i32',
    po: 'i32',
    pc: 'i32',
    cnt: 'v128',
    s: 'v128',
  });
  const loadAt = (ptr: string) => fn.get(ptr).get('c').op('i32.add').mem('v128.load');
  const row = (adding: boolean, subtracting: boolean) => {
    fn.get('pc').mem('f32.load').op('f32x4.splat').set('cnt');
    fn.i32(0).set('c');
    fn.whileLess('c', 'rowBytes', 16, () => {
      loadAt('sums');
      if (adding) loadAt('pa').op('f32x4.add');
      if (subtracting) loadAt('ps').op('f32x4.sub');
      fn.set('s');
      fn.get('sums').get('c').op('i32.add').get('s').mem('v128.store');
      fn.get('po').get('c').op('i32.add').get('s').get('cnt').op('f32x4.div').mem('v128.store');
    });
    if (adding) fn.inc('pa', 'rowBytes');
    if (subtracting) fn.inc('ps', 'rowBytes');
    fn.inc('po', 'rowBytes').inc('pc', 4);
  };

  fn.get('stride').i32(2).op('i32.shl').set('rowBytes');
  fn.i32(0).set('c');
  fn.whileLess('c', 'rowBytes', 16, () => {
    fn.get('sums').get('c').op('i32.add').f32(0).op('f32x4.splat').mem('v128.store');
  });
  fn.get('input').set('pa');
  fn.i32(0).set('k');
  fn.whileLess('k', 'lead', 1, () => {
    fn.i32(0).set('c');
    fn.whileLess('c', 'rowBytes', 16, () => {
      fn.get('sums').get('c').op('i32.add');
      loadAt('sums');
      loadAt('pa').op('f32x4.add').mem('v128.store');
    });
    fn.inc('pa', 'rowBytes');
  });
  fn.get('input').set('ps');
  fn.get('out').set('po');
  fn.get('counts').set('pc');
  fn.i32(0).set('o');
  fn.whileLess('o', 'grow', 1, () => row(true, false));
  fn.whileLess('o', 'shrinkFrom', 1, () => row(true, true));
  fn.whileLess('o', 'rows', 1, () => row(false, true));
  return fn;
}

/** T = D A then B = T D^T, f32x4 across output columns; every element sums k in order. */
function dctKernel(): FunctionBuilder {
  const fn = new FunctionBuilder('dct', ['a', 'd', 'dt', 't', 'b'], {
    i: 'i32',
    j: 'i32',
    k: 'i32',
    p: 'i32',
    q: 'i32',
    acc: 'v128',
  });
  // T[i][j..j+3] = sum_k D[i][k] * A[k][j..j+3]   (A is 64x64: row stride 256 bytes)
  rowTimesMatrix(fn, { left: 'd', right: 'a', rightRowBytes: 256, out: 't', outRowBytes: 256 });
  // B[i][j..j+3] = sum_k T[i][k] * D[j..j+3][k], reading D^T so the four j are adjacent
  rowTimesMatrix(fn, { left: 't', right: 'dt', rightRowBytes: 64, out: 'b', outRowBytes: 64 });
  return fn;
}

/**
 * Emits OUT[i][j..j+3] = sum_k LEFT[i][k] * RIGHT[k][j..j+3] for 16 rows i and 64 terms k, four
 * output columns per f32x4, summing k in order (float32, as the reference does). LEFT rows are
 * 64 floats (256 bytes); the other strides are given.
 */
function rowTimesMatrix(
  fn: FunctionBuilder,
  m: { left: string; right: string; rightRowBytes: number; out: string; outRowBytes: number },
): void {
  fn.i32(0).set('i');
  fn.whileLess('i', 16, 1, () => {
    fn.i32(0).set('j');
    fn.whileLess('j', m.outRowBytes, 16, () => {
      fn.f32(0).op('f32x4.splat').set('acc');
      fn.get('i').i32(8).op('i32.shl').get(m.left).op('i32.add').set('p');
      fn.get(m.right).get('j').op('i32.add').set('q');
      fn.i32(0).set('k');
      fn.whileLess('k', 64, 1, () => {
        fn.get('acc').get('p').mem('f32.load').op('f32x4.splat').get('q').mem('v128.load').op('f32x4.mul', 'f32x4.add').set('acc');
        fn.inc('p', 4).inc('q', m.rightRowBytes);
      });
      fn.get('i').i32(Math.log2(m.outRowBytes)).op('i32.shl').get(m.out).op('i32.add').get('j').op('i32.add').get('acc').mem('v128.store');
    });
  });
}

/** The few members of the WebAssembly JS API used here (the project's TS libs carry no DOM types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: object };
}
declare const WebAssembly: WasmApi;

let compiled: object | undefined;

/** Compiles once per process; each call returns kernels with their own memory. */
export function createPdqKernels(): PdqKernels {
  compiled ??= new WebAssembly.Module(
    assembleModule(
      [lumaKernel(false), lumaKernel(true), allGreyKernel(), boxRowsKernel(4), boxRowsKernel(1), boxColsKernel(), dctKernel()],
      MEMORY_PAGES,
    ),
  );
  const instance = new WebAssembly.Instance(compiled, {});
  const exports = instance.exports as Omit<PdqKernels, 'u8' | 'f32'> & { mem: { buffer: ArrayBuffer } };
  const buffer = exports.mem.buffer;
  return {
    u8: new Uint8Array(buffer),
    f32: new Float32Array(buffer),
    luma: exports.luma,
    lumaGrey: exports.lumaGrey,
    allGrey: exports.allGrey,
    boxRows4: exports.boxRows4,
    boxRows1: exports.boxRows1,
    boxCols: exports.boxCols,
    dct: exports.dct,
  };
}
