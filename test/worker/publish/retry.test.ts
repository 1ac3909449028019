import { describe, expect, it } from 'vitest';
import { backoffDelay, sleep } from '../../../src/domain/retry.js';

describe('worker-wide retry rule (domain/retry.ts)', () => {
  it('doubles from the first delay to the cap, each delay in [d/2, d] (publisher defaults 100 / 5000)', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => backoffDelay(n, 100, 5000, () => 1))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    expect([1, 2, 7].map((n) => backoffDelay(n, 100, 5000, () => 0))).toEqual([50, 100, 2500]);
    // Attempt counts far beyond the cap stay finite.
    expect(backoffDelay(1e9, 100, 5000, () => 0.5)).toBe(3750);
  });

  it('sleep rejects with the abort reason as soon as the signal aborts, and at once when already aborted', async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    const pending = sleep(10_000, ac.signal);
    setTimeout(() => ac.abort(new Error('lease lost')), 20);
    await expect(pending).rejects.toThrow('lease lost');
    expect(performance.now() - t0).toBeLessThan(5000);
    await expect(sleep(10_000, AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
    await expect(sleep(1)).resolves.toBeUndefined();
  });
});
