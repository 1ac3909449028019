import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../src/domain/retry.js';
import { LatestQueue } from '../../../src/worker/sampler/frame-queue.js';

describe('backoffDelay', () => {
  it('doubles from the base up to the cap, with the delay in [d/2, d]', () => {
    const lo = (n: number) => backoffDelay(n, 500, 15_000, () => 0);
    const hi = (n: number) => backoffDelay(n, 500, 15_000, () => 1);
    expect([1, 2, 3, 4, 5, 6, 7].map(hi)).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
    expect([1, 2, 3, 6].map(lo)).toEqual([250, 500, 1000, 7500]);
    expect(backoffDelay(1000, 500, 15_000, () => 1)).toBe(15_000);
  });

  it('spreads a fleet of restarts over the window', () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const delays = Array.from({ length: 200 }, () => backoffDelay(3, 500, 15_000, rand));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(2000);
    expect(new Set(delays).size).toBeGreaterThan(100);
  });
});

describe('LatestQueue', () => {
  it('keeps the newest items when the consumer is behind, counting drops', async () => {
    const dropped: number[] = [];
    const q = new LatestQueue<number>(2, undefined, (n) => dropped.push(n));
    for (let i = 0; i < 5; i++) q.push(i);
    expect(q.dropped).toBe(3);
    expect(dropped).toEqual([0, 1, 2]);
    q.end();
    const got: number[] = [];
    for await (const n of q) got.push(n);
    expect(got).toEqual([3, 4]);
  });

  it('hands an item straight to a waiting consumer', async () => {
    const q = new LatestQueue<string>(1);
    const it = q[Symbol.asyncIterator]();
    const pending = it.next();
    q.push('a');
    expect(await pending).toEqual({ value: 'a', done: false });
    expect(q.size).toBe(0);
  });

  it('delivers what is queued, then throws the failure once', async () => {
    const q = new LatestQueue<number>(3);
    q.push(1);
    const boom = new Error('source gone');
    q.fail(boom);
    q.push(2); // after close: ignored
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const n of q) got.push(n);
      })(),
    ).rejects.toBe(boom);
    expect(got).toEqual([1]);
  });

  it('leaving the loop early calls onReturn (the sampler stops) and clears', async () => {
    let returned = 0;
    const q = new LatestQueue<number>(4, () => returned++);
    q.push(1);
    q.push(2);
    for await (const n of q) {
      expect(n).toBe(1);
      break;
    }
    expect(returned).toBe(1);
    expect(q.closed).toBe(true);
    expect(q.size).toBe(0);
  });

  it('clear ends a waiting consumer; a second iteration is refused', async () => {
    const q = new LatestQueue<number>(1);
    const it = q[Symbol.asyncIterator]();
    const pending = it.next();
    q.clear();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(() => q[Symbol.asyncIterator]()).toThrow(/once/);
  });
});
