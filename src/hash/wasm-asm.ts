/**
 * A minimal WebAssembly binary writer: just enough to express PDQ's inner loops (pdq-wasm.ts)
 * and the hash index's search (index-mih-kernel.ts).
 *
 * Why WebAssembly for PDQ: it must reproduce float32 arithmetic exactly. In JavaScript every
 * float32 operation is a double operation plus Math.fround, i.e. two extra conversions, and
 * that conversion traffic is what bounds the blur passes. WebAssembly's f32 and f32x4
 * instructions are IEEE single precision (round to nearest even, no fused multiply-add in
 * the non-relaxed instruction set), so they compute the reference's float expressions
 * natively and four lanes at a time. We write the few bytes of the module ourselves rather
 * than ship a compiled blob, so the kernels stay readable and reviewable in TypeScript. The index
 * uses it for what JavaScript lacks: a popcount instruction, 64-bit integers and SIMD compares.
 *
 * Binary format: https://webassembly.github.io/spec/core/binary/ (and the SIMD proposal's
 * opcode table, now part of the standard).
 */
export type ValType = 'i32' | 'i64' | 'f32' | 'v128';

const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, v128: 0x7b };

/** Single-byte opcodes, and SIMD opcodes (prefix 0xfd, then a LEB128 number). */
const OPS = {
  select: [0x1b],
  'i32.eqz': [0x45],
  'i32.eq': [0x46],
  'i32.ne': [0x47],
  'i32.lt_s': [0x48],
  'i32.lt_u': [0x49],
  'i32.gt_u': [0x4b],
  'i32.le_s': [0x4c],
  'i32.le_u': [0x4d],
  'i32.ge_s': [0x4e],
  'i32.ge_u': [0x4f],
  'i32.ctz': [0x68],
  'i32.popcnt': [0x69],
  'i32.add': [0x6a],
  'i32.sub': [0x6b],
  'i32.mul': [0x6c],
  'i32.and': [0x71],
  'i32.or': [0x72],
  'i32.xor': [0x73],
  'i32.shl': [0x74],
  'i32.shr_u': [0x76],
  'i32.rotl': [0x77],
  'i64.popcnt': [0x7b],
  'i64.add': [0x7c],
  'i64.and': [0x83],
  'i64.xor': [0x85],
  'i64.shr_u': [0x88],
  'i32.wrap_i64': [0xa7],
  'f32.add': [0x92],
  'f32.sub': [0x93],
  'f32.mul': [0x94],
  'f32.div': [0x95],
  'f32.convert_i32_u': [0xb3],
  'i8x16.splat': [0xfd, 15],
  'i32x4.splat': [0xfd, 17],
  'f32x4.splat': [0xfd, 19],
  'i8x16.le_u': [0xfd, 42],
  'i32x4.le_u': [0xfd, 62],
  'i32x4.eq': [0xfd, 55],
  'v128.and': [0xfd, 78],
  'v128.xor': [0xfd, 81],
  'i8x16.popcnt': [0xfd, 98],
  'i8x16.bitmask': [0xfd, 100],
  'i32x4.bitmask': [0xfd, 164, 1],
  'f32x4.convert_i32x4_s': [0xfd, 250, 1],
  'f32x4.add': [0xfd, 228, 1],
  'f32x4.sub': [0xfd, 229, 1],
  'f32x4.mul': [0xfd, 230, 1],
  'f32x4.div': [0xfd, 231, 1],
  'i8x16.eq': [0xfd, 35],
  'v128.andnot': [0xfd, 79],
  'v128.or': [0xfd, 80],
  'v128.any_true': [0xfd, 83],
} as const;
export type Op = keyof typeof OPS;

/** Memory instructions with their natural alignment (log2 bytes). */
const MEM_OPS = {
  'i32.load8_u': { code: [0x2d], align: 0 },
  'i32.load16_u': { code: [0x2f], align: 1 },
  'i32.load': { code: [0x28], align: 2 },
  'i32.store8': { code: [0x3a], align: 0 },
  'i64.load': { code: [0x29], align: 3 },
  'f32.load': { code: [0x2a], align: 2 },
  'f32.store': { code: [0x38], align: 2 },
  'i32.store': { code: [0x36], align: 2 },
  'v128.load': { code: [0xfd, 0], align: 4 },
  'v128.store': { code: [0xfd, 11], align: 4 },
} as const;
export type MemOp = keyof typeof MEM_OPS;

function uleb(n: number, out: number[]): void {
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

/** The body of one function. Parameters are i32 (pointers and sizes); locals are named. */
export class FunctionBuilder {
  readonly bytes: number[] = [];
  private readonly index = new Map<string, number>();
  readonly localTypes: ValType[] = [];

  constructor(
    readonly name: string,
    readonly params: readonly string[],
    locals: Readonly<Record<string, ValType>> = {},
  ) {
    params.forEach((p, i) => this.index.set(p, i));
    for (const [n, t] of Object.entries(locals)) {
      this.index.set(n, params.length + this.localTypes.length);
      this.localTypes.push(t);
    }
  }

  private slot(name: string): number {
    const i = this.index.get(name);
    if (i === undefined) throw new Error(`wasm ${this.name}: unknown local ${name}`);
    return i;
  }

  get(name: string): this {
    this.bytes.push(0x20);
    uleb(this.slot(name), this.bytes);
    return this;
  }

  set(name: string): this {
    this.bytes.push(0x21);
    uleb(this.slot(name), this.bytes);
    return this;
  }

  i32(value: number): this {
    this.bytes.push(0x41);
    sleb(value | 0, this.bytes);
    return this;
  }

  f32(value: number): this {
    this.bytes.push(0x43, ...new Uint8Array(Float32Array.of(value).buffer));
    return this;
  }

  op(...ops: Op[]): this {
    for (const o of ops) this.bytes.push(...OPS[o]);
    return this;
  }

  /** v128.const: 16 bytes, little-endian lanes. */
  v128(bytes: readonly number[]): this {
    if (bytes.length !== 16) throw new Error('v128.const needs 16 bytes');
    this.bytes.push(0xfd, 12, ...bytes);
    return this;
  }

  /** i8x16.shuffle of the two vectors on the stack: lane i takes byte lanes[i] of (a ++ b). */
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => l < 0 || l > 31)) throw new Error('i8x16.shuffle needs 16 lanes in 0..31');
    this.bytes.push(0xfd, 13, ...lanes);
    return this;
  }

  /** Load or store at the address on the stack plus a constant byte offset. */
  mem(op: MemOp, offset = 0): this {
    const m = MEM_OPS[op];
    this.bytes.push(...m.code);
    uleb(m.align, this.bytes);
    uleb(offset, this.bytes);
    return this;
  }

  /** local = local + step */
  inc(name: string, step: number | string): this {
    return this.get(name).value(step).op('i32.add').set(name);
  }

  /** Pushes a local's value or a constant. */
  value(v: number | string): this {
    return typeof v === 'number' ? this.i32(v) : this.get(v);
  }

  /** i64.const (small values: the kernels need shift counts) */
  i64(value: number): this {
    this.bytes.push(0x42);
    sleb(value | 0, this.bytes);
    return this;
  }

  /** while (local !== 0) { body } */
  whileNonZero(name: string, body: () => void): this {
    this.bytes.push(0x02, 0x40, 0x03, 0x40);
    this.get(name).op('i32.eqz');
    this.bytes.push(0x0d, 1);
    body();
    this.bytes.push(0x0c, 0, 0x0b, 0x0b);
    return this;
  }

  /** if (the i32 on the stack is non-zero) { body } */
  ifTrue(body: () => void): this {
    this.bytes.push(0x04, 0x40); // if (no result)
    body();
    this.bytes.push(0x0b);
    return this;
  }

  /** if (the i32 on the stack is non-zero) { then } else { otherwise } */
  ifElse(then: () => void, otherwise: () => void): this {
    this.bytes.push(0x04, 0x40);
    then();
    this.bytes.push(0x05);
    otherwise();
    this.bytes.push(0x0b);
    return this;
  }

  /** do { body; counter += step } while (counter < limit): the body runs at least once. */
  doWhileLess(counter: string, limit: number | string, step: number | string, body: () => void): this {
    this.bytes.push(0x03, 0x40); // loop (no result)
    body();
    this.inc(counter, step);
    this.get(counter).value(limit).op('i32.lt_s');
    this.bytes.push(0x0d, 0, 0x0b); // br_if 0 (continue), end loop
    return this;
  }

  /** while (counter < limit) { body; counter += step }, with constants or locals. */
  whileLess(counter: string, limit: number | string, step: number | string, body: () => void): this {
    this.bytes.push(0x02, 0x40, 0x03, 0x40); // block, loop (no result)
    this.get(counter).value(limit).op('i32.ge_s');
    this.bytes.push(0x0d, 1); // br_if 1: leave the block
    body();
    this.inc(counter, step);
    this.bytes.push(0x0c, 0, 0x0b, 0x0b); // br 0 (continue), end loop, end block
    return this;
  }
}

/**
 * Assembles a module exporting the functions (no results) and either its own fixed-size memory
 * "mem" (`memory` pages) or, with 'import', the memory the instance is given as `env.mem` (one
 * compiled module then serves memories of any size).
 */
export function assembleModule(functions: readonly FunctionBuilder[], memory: number | 'import'): Uint8Array {
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const section = (id: number, body: number[]) => {
    out.push(id);
    uleb(body.length, out);
    out.push(...body);
  };
  const vec = (items: number[][]): number[] => {
    const b: number[] = [];
    uleb(items.length, b);
    for (const i of items) b.push(...i);
    return b;
  };
  const name = (s: string): number[] => {
    const bytes = [...new TextEncoder().encode(s)];
    const b: number[] = [];
    uleb(bytes.length, b);
    return [...b, ...bytes];
  };
  const u = (n: number): number[] => {
    const b: number[] = [];
    uleb(n, b);
    return b;
  };

  section(1, vec(functions.map((f) => [0x60, ...u(f.params.length), ...f.params.map(() => VALTYPE.i32), 0])));
  if (memory === 'import') section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x00, 0]]));
  section(3, vec(functions.map((_, i) => u(i))));
  const exports = functions.map((f, i) => [...name(f.name), 0x00, ...u(i)]);
  if (memory !== 'import') {
    section(5, vec([[0x01, ...u(memory), ...u(memory)]]));
    exports.push([...name('mem'), 0x02, 0]);
  }
  section(7, vec(exports));
  section(
    10,
    vec(
      functions.map((f) => {
        const locals = vec(f.localTypes.map((t) => [1, VALTYPE[t]]));
        const body = [...locals, ...f.bytes, 0x0b];
        return [...u(body.length), ...body];
      }),
    ),
  );
  return Uint8Array.from(out);
}
