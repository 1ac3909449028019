import { describe, expect, it } from 'vitest';
import { FrameAssembler } from '../../../src/worker/sampler/framer.js';
import { FrameStamper } from '../../../src/worker/sampler/frame-stamper.js';

/** A byte stream of `count` frames where byte i of frame f is (f * 31 + i) & 255. */
function stream(frameBytes: number, count: number): Buffer {
  const b = Buffer.alloc(frameBytes * count);
  for (let f = 0; f < count; f++) for (let i = 0; i < frameBytes; i++) b[f * frameBytes + i] = (f * 31 + i) & 255;
  return b;
}

function cutAll(a: FrameAssembler, bytes: number): { data: Buffer; at: number }[] {
  const out = [];
  for (let got = a.take(bytes); got; got = a.take(bytes)) out.push(got);
  return out;
}

describe('FrameAssembler', () => {
  it('reassembles frames from chunks split anywhere', () => {
    const frameBytes = 12 * 7 * 3;
    const all = stream(frameBytes, 5);
    for (const chunkSize of [1, 7, frameBytes - 1, frameBytes, frameBytes + 1, 3 * frameBytes + 5, all.length]) {
      const a = new FrameAssembler();
      const frames: Buffer[] = [];
      for (let off = 0; off < all.length; off += chunkSize) {
        a.push(all.subarray(off, off + chunkSize), off);
        frames.push(...cutAll(a, frameBytes).map((f) => f.data));
      }
      expect(frames.map((f) => f.length)).toEqual([frameBytes, frameBytes, frameBytes, frameBytes, frameBytes]);
      frames.forEach((f, i) => expect(f.equals(all.subarray(i * frameBytes, (i + 1) * frameBytes))).toBe(true));
      expect(a.buffered).toBe(0);
    }
  });

  it('stamps a frame with the arrival time of the chunk holding its last byte', () => {
    const a = new FrameAssembler();
    a.push(Buffer.alloc(6), 100);
    expect(a.take(10)).toBeUndefined();
    expect(a.buffered).toBe(6);
    a.push(Buffer.alloc(6), 250);
    const got = a.take(10);
    expect(got?.at).toBe(250);
    expect(a.buffered).toBe(2);
  });

  it('hands out a frame inside one chunk as a view (no copy), and copies a spanning one once', () => {
    const big = Buffer.alloc(30, 1);
    const a = new FrameAssembler();
    a.push(big, 1);
    const view = a.take(12)!.data;
    expect(view.buffer).toBe(big.buffer);
    const b = new FrameAssembler();
    const c1 = Buffer.alloc(8, 2);
    const c2 = Buffer.alloc(8, 3);
    b.push(c1, 1);
    b.push(c2, 2);
    const spanning = b.take(12)!.data;
    expect(spanning.buffer).not.toBe(c1.buffer);
    expect([...spanning]).toEqual([2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3]);
  });

  it('cuts frames of different sizes in turn (shrink mode: sizes come per frame)', () => {
    const a = new FrameAssembler();
    a.push(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), 5);
    expect([...a.take(3)!.data]).toEqual([1, 2, 3]);
    expect([...a.take(6)!.data]).toEqual([4, 5, 6, 7, 8, 9]);
  });

  it('reset drops a partial frame and reports its size', () => {
    const a = new FrameAssembler();
    a.push(Buffer.alloc(5), 1);
    expect(a.reset()).toBe(5);
    expect(a.buffered).toBe(0);
    expect(() => a.take(0)).toThrow(RangeError);
  });
});

const base = { streamId: 's1', firstSeq: 0, waitMs: 100, originMs: 1_000 };
const px = (n: number) => Buffer.alloc(2 * 2 * 3, n);

describe('FrameStamper', () => {
  it('pairs frames with showinfo pts whichever pipe is read first', () => {
    const st = new FrameStamper(base);
    // pts line before the frame
    expect(st.pts(0, 12.5, 2_000)).toEqual([]);
    const [f0] = st.frame(px(0), 2_001, 2, 2);
    expect(f0).toMatchObject({ streamId: 's1', seq: 0, pts: 12.5, capturedAt: 2_001, width: 2, height: 2 });
    // frame before its pts line: held, then released by the line
    expect(st.frame(px(1), 3_000, 2, 2)).toEqual([]);
    expect(st.deadline).toBe(3_100);
    const [f1] = st.pts(1, 13.5, 3_002);
    expect(f1).toMatchObject({ seq: 1, pts: 13.5, capturedAt: 3_000 });
  });

  it('keeps order: a later frame never overtakes one still waiting', () => {
    const st = new FrameStamper(base);
    st.frame(px(0), 10, 2, 2);
    st.frame(px(1), 20, 2, 2);
    expect(st.pts(1, 2, 21)).toEqual([]);
    const out = st.pts(0, 1, 22);
    expect(out.map((f) => [f.seq, f.pts])).toEqual([
      [0, 1],
      [1, 2],
    ]);
  });

  it('estimates pts when the line does not come in time, from the last real one', () => {
    const st = new FrameStamper(base);
    st.pts(0, 50, 0);
    st.frame(px(0), 2_000, 2, 2);
    st.frame(px(1), 3_000, 2, 2);
    expect(st.expire(3_050)).toEqual([]);
    const [late] = st.expire(3_100);
    expect(late).toMatchObject({ seq: 1, pts: 51, capturedAt: 3_000 });
    expect(st.estimatedCount).toBe(1);
  });

  it('estimates from the sampler start when no pts was ever seen; flush releases everything', () => {
    const st = new FrameStamper(base);
    st.frame(px(0), 1_500, 2, 2);
    const [f] = st.flush(1_501);
    expect(f?.pts).toBe(0.5);
    expect(st.pendingCount).toBe(0);
  });

  it('a frame whose showinfo line said NOPTS gets an estimate', () => {
    const st = new FrameStamper({ ...base, previous: { pts: 7, capturedAt: 1_000 } });
    st.pts(0, undefined, 1_900);
    const [f] = st.frame(px(0), 2_000, 2, 2);
    expect(f?.pts).toBe(8);
  });

  it('continues seq and the pts estimate across runs', () => {
    const first = new FrameStamper(base);
    first.pts(0, 3, 0);
    first.pts(1, 4, 0);
    first.frame(px(0), 100, 2, 2);
    first.frame(px(1), 1_100, 2, 2);
    const second = new FrameStamper({ ...base, firstSeq: first.nextSeq, previous: first.last });
    const [f] = second.flush(0);
    expect(f).toBeUndefined();
    second.frame(px(2), 3_100, 2, 2);
    const [g] = second.flush(3_100);
    expect(g).toMatchObject({ seq: 2, pts: 6 });
  });
});
