/**
 * The hash index's search loop as a WebAssembly kernel (layout and reasoning in index-mih.ts).
 *
 * Why not JavaScript: a query visits thousands of buckets, filters tens of thousands of bucket
 * entries and checks hundreds of candidates; JavaScript has no popcount instruction (a table load per 16 bits
 * instead), no 64-bit integers and no SIMD compares.
 *
 * Per slot, three passes, each a loop whose iterations do not wait on each other, so the
 * processor keeps many cache misses in flight instead of stalling on each in turn:
 *  1. the bucket range of every probe, touching each cache line of its filter bytes;
 *  2. the filter bytes, 16 per SIMD step, against the query's (equality when the probe used the
 *     whole slot budget, else a popcount bound): passing positions go to a candidate buffer;
 *  3. each candidate's entry (position table) and its 256-bit distance.
 *
 * One compiled module serves every index: each instantiates it on its own memory (imported as
 * env.mem) and passes its layout's addresses with every call.
 */
import { assembleModule, FunctionBuilder } from './wasm-asm.js';

/** Most slots an index has (the slot tables are sized for it). */
export const MAX_SLOTS = 16;
/**
 * Per slot, 32 bytes of the slot table the caller writes before each search: the query's bucket
 * key (0) and filter bits (4), the slot radius t (8, -1: slot not probed), the probe masks that
 * leave filter budget (12) and all probe masks (16) for t, then 12 bytes unused.
 */
export const SLOT_ENTRY_BYTES = 32;
/**
 * Per slot, 32 bytes of the index's slot masks: the slot's bits as four i64 masks over the hash
 * as the kernel loads it (words little-endian, four per i64), so a slot's distance is four
 * popcounts of (xor & mask) whatever its width and offset.
 */
export const SLOT_MASK_BYTES = 32;
/** Candidates buffered before pass 3 runs; a fuller slot runs it more than once. */
export const CANDIDATE_CAPACITY = 1 << 14;

/** The search's parameters, in call order (all i32 addresses, sizes or counts). */
const PARAMS = [
  'radius',
  'nSlots',
  'slotTable',
  'slotMasks',
  'masks',
  'query',
  'hashes',
  'offsets',
  'offsetsBytes',
  'filters',
  'filterBytes',
  'positions',
  'positionBytes',
  'ranges',
  'candidates',
  'results',
  'capacity',
  'countAt',
] as const;

type NumbersFor<T extends readonly unknown[]> = { -readonly [K in keyof T]: number };
export type SearchKernel = (...args: NumbersFor<typeof PARAMS>) => void;

/** Pushes whether slot `slot` (a local) of the xor in x0..x3 is within that slot's radius. */
function emitSlotNear(fn: FunctionBuilder, slot: string): void {
  fn.get(slot).i32(5).op('i32.shl').get('slotMasks').op('i32.add').set('ma');
  for (let k = 0; k < 4; k++) {
    fn.get(`x${k}`)
      .get('ma')
      .mem('i64.load', k * 8)
      .op('i64.and', 'i64.popcnt');
    if (k > 0) fn.op('i64.add');
  }
  fn.op('i32.wrap_i64');
  fn.get(slot).i32(5).op('i32.shl').get('slotTable').op('i32.add').mem('i32.load', 8).op('i32.le_s');
}

/**
 * Emits the full check of candidate entry `id` found in slot `s`: its distance over all 256
 * bits, and whether `s` is the first slot within its slot radius, so an entry close in several
 * slots is reported once, by the first, without per-query state. The slot test runs only for
 * entries within the radius (the hits), so it may loop.
 */
function emitVerify(fn: FunctionBuilder): void {
  fn.get('id').i32(5).op('i32.shl').get('hashes').op('i32.add').set('base');
  for (let k = 0; k < 4; k++)
    fn.get('base')
      .mem('i64.load', k * 8)
      .get(`q${k}`)
      .op('i64.xor')
      .set(`x${k}`);
  fn.get('x0').op('i64.popcnt').get('x1').op('i64.popcnt', 'i64.add').get('x2').op('i64.popcnt', 'i64.add');
  fn.get('x3').op('i64.popcnt', 'i64.add', 'i32.wrap_i64').set('total');
  fn.get('total').get('radius').op('i32.le_u');
  fn.ifTrue(() => {
    // `near`: some slot before s is within its radius (that slot reports the entry).
    fn.i32(0).set('near');
    fn.i32(0).set('v');
    fn.whileLess('v', 's', 1, () => {
      emitSlotNear(fn, 'v');
      fn.get('near').op('i32.or').set('near');
    });
    emitSlotNear(fn, 's');
    fn.get('near').op('i32.eqz', 'i32.and');
    fn.ifTrue(() => {
      fn.get('count').get('capacity').op('i32.lt_u');
      fn.ifTrue(() => {
        fn.get('count').i32(3).op('i32.shl').get('results').op('i32.add').set('at');
        fn.get('at').get('id').mem('i32.store');
        fn.get('at').get('total').mem('i32.store', 4);
      });
      fn.inc('count', 1);
    });
  });
}

/**
 * Pass 3 over the buffered candidate positions, as two loops so that each keeps many loads in
 * flight: slots 1..7 first look every entry up (3 bytes, little-endian) in their position table,
 * then every entry's hash is checked (slot 0's position is the entry).
 */
function emitCandidates(fn: FunctionBuilder): void {
  fn.get('s');
  fn.ifTrue(() => {
    fn.get('candidates').set('c');
    fn.whileLess('c', 'candEnd', 4, () => {
      fn.get('c');
      fn.get('c').mem('i32.load').i32(3).op('i32.mul').get('slotPositions').op('i32.add').mem('i32.load').i32(0xffffff).op('i32.and');
      fn.mem('i32.store');
    });
  });
  fn.get('candidates').set('c');
  fn.whileLess('c', 'candEnd', 4, () => {
    fn.get('c').mem('i32.load').set('id');
    emitVerify(fn);
  });
  fn.get('candidates').set('candEnd');
}

/** Appends position j + ctz(mask) for every set bit of `mask`; runs pass 3 when the buffer is full. */
function emitCollect(fn: FunctionBuilder): void {
  fn.whileNonZero('mask', () => {
    fn.get('candEnd').get('j').get('mask').op('i32.ctz', 'i32.add').mem('i32.store');
    fn.inc('candEnd', 4);
    fn.get('mask').get('mask').i32(1).op('i32.sub', 'i32.and').set('mask');
    fn.get('candEnd').get('candLimit').op('i32.ge_s');
    fn.ifTrue(() => emitCandidates(fn));
  });
}

/**
 * Pass 2 over stored ranges [from, to) (12 bytes each: start, end, filter budget), 16 filter
 * bytes per SIMD step; `compare` turns (filter bytes, query filter splat) into the i8x16 pass
 * mask. Written with as few data-dependent branches as possible: at 1M entries a bucket is one
 * step, and a mispredicted branch per bucket would cost more than the step itself.
 */
function emitFilterPass(fn: FunctionBuilder, from: string, to: string, compare: () => void): void {
  fn.get(from).set('r');
  fn.whileLess('r', to, 12, () => {
    fn.get('r').mem('i32.load').set('j');
    fn.get('r').mem('i32.load', 4).set('end');
    fn.get('r').mem('i32.load', 8).op('i8x16.splat').set('limv');
    fn.doWhileLess('j', 'end', 16, () => {
      fn.get('j').get('slotFilters').op('i32.add').mem('v128.load').get('qfv');
      compare();
      fn.op('i8x16.bitmask');
      // The last step of a bucket reads past its end: keep only the bucket's own bytes.
      fn.get('end').get('j').op('i32.sub').set('rem');
      fn.i32(0xffff).i32(1).get('rem').op('i32.shl').i32(1).op('i32.sub').get('rem').i32(16).op('i32.ge_u').op('select');
      fn.op('i32.and').set('mask');
      emitCollect(fn);
    });
  });
}

function searchKernel(): FunctionBuilder {
  const fn = new FunctionBuilder('search', PARAMS, {
    q0: 'i64',
    q1: 'i64',
    q2: 'i64',
    q3: 'i64',
    x0: 'i64',
    x1: 'i64',
    x2: 'i64',
    x3: 'i64',
    s: 'i32',
    k: 'i32',
    m: 'i32',
    lim: 'i32',
    at: 'i32',
    r: 'i32',
    j: 'i32',
    end: 'i32',
    rem: 'i32',
    mask: 'i32',
    id: 'i32',
    base: 'i32',
    total: 'i32',
    near: 'i32',
    count: 'i32',
    qtop: 'i32',
    qf: 'i32',
    rangesEnd: 'i32',
    partialEnd: 'i32',
    table: 'i32',
    slotFilters: 'i32',
    slotPositions: 'i32',
    touch: 'i32',
    c: 'i32',
    v: 'i32',
    ma: 'i32',
    slotRadius: 'i32',
    nPartial: 'i32',
    nMasks: 'i32',
    entry: 'i32',
    candEnd: 'i32',
    candLimit: 'i32',
    qfv: 'v128',
    limv: 'v128',
  });
  for (let k = 0; k < 4; k++)
    fn.get('query')
      .mem('i64.load', k * 8)
      .set(`q${k}`);
  fn.i32(0).set('count');
  fn.get('candidates').set('candEnd');
  fn.get('candidates')
    .i32(CANDIDATE_CAPACITY * 4)
    .op('i32.add')
    .set('candLimit');

  fn.i32(0).set('s');
  fn.whileLess('s', 'nSlots', 1, () => {
    // The query's key and filter bits in this slot, its radius and probe counts: from the slot table.
    fn.get('s').i32(5).op('i32.shl').get('slotTable').op('i32.add').set('entry');
    fn.get('entry').mem('i32.load').set('qtop');
    fn.get('entry').mem('i32.load', 4).set('qf');
    fn.get('entry').mem('i32.load', 8).set('slotRadius');
    fn.get('entry').mem('i32.load', 12).set('nPartial');
    fn.get('entry').mem('i32.load', 16).set('nMasks');
    fn.get('qf').op('i8x16.splat').set('qfv');
    fn.get('s').get('offsetsBytes').op('i32.mul').get('offsets').op('i32.add').set('table');
    fn.get('s').get('filterBytes').op('i32.mul').get('filters').op('i32.add').set('slotFilters');
    // Slot 0 has no position table (its entries are stored in its bucket order).
    fn.get('s').i32(1).op('i32.sub').get('positionBytes').op('i32.mul').get('positions').op('i32.add').set('slotPositions');

    // Pass 1: every probe's bucket range and filter budget, the first and last filter byte of
    // each touched (a bucket's filters span one or two cache lines at the sizes keyBitsFor picks).
    // Masks are ordered by popcount, so the ranges are too: those before nPartial have budget
    // left for the filter, the rest (most: 680 of 834 per slot with 8 slots at 17 key bits, 136 of
    // 154 with 11) need it equal.
    fn.i32(0).set('k');
    fn.get('ranges').set('r');
    fn.whileLess('k', 'nMasks', 1, () => {
      fn.get('k').i32(2).op('i32.shl').get('masks').op('i32.add').mem('i32.load').set('m');
      fn.get('qtop').get('m').op('i32.xor').i32(2).op('i32.shl').get('table').op('i32.add').set('at');
      fn.get('at').mem('i32.load').set('j');
      fn.get('at').mem('i32.load', 4).set('end');
      fn.get('r').get('j').mem('i32.store');
      fn.get('r').get('end').mem('i32.store', 4);
      fn.get('r').get('slotRadius').get('m').op('i32.popcnt', 'i32.sub').mem('i32.store', 8);
      fn.get('touch').get('j').get('slotFilters').op('i32.add').mem('i32.load8_u').op('i32.xor');
      fn.get('end').get('slotFilters').op('i32.add').mem('i32.load8_u').op('i32.xor').set('touch');
      fn.inc('r', 12);
    });
    fn.get('nPartial').i32(12).op('i32.mul').get('ranges').op('i32.add').set('partialEnd');
    fn.get('r').set('rangesEnd');

    // Pass 2: filter bytes, collecting candidate positions.
    emitFilterPass(fn, 'ranges', 'partialEnd', () => fn.op('v128.xor', 'i8x16.popcnt').get('limv').op('i8x16.le_u'));
    emitFilterPass(fn, 'partialEnd', 'rangesEnd', () => fn.op('i8x16.eq'));

    // Pass 3 for what is left in the buffer.
    emitCandidates(fn);
  });
  fn.get('countAt').get('count').mem('i32.store');
  // Stored so that pass 1's touching loads are not dead code.
  fn.get('countAt').get('touch').mem('i32.store', 4);
  return fn;
}

/** The few members of the WebAssembly JS API used here (the project's TS libs carry no DOM types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: object };
  Memory: new (descriptor: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer };
}
declare const WebAssembly: WasmApi;

export const WASM_PAGE = 65536;

let compiled: object | undefined;

export interface IndexMemory {
  readonly buffer: ArrayBuffer;
  readonly search: SearchKernel;
}

/** A fixed-size memory of `bytes` (rounded up to pages) with the search kernel bound to it. */
export function createIndexMemory(bytes: number): IndexMemory {
  compiled ??= new WebAssembly.Module(assembleModule([searchKernel()], 'import'));
  const pages = Math.ceil(bytes / WASM_PAGE);
  const mem = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const instance = new WebAssembly.Instance(compiled, { env: { mem } });
  return { buffer: mem.buffer, search: (instance.exports as { search: SearchKernel }).search };
}
