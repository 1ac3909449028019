import { describe, expect, it } from 'vitest';
import { admission } from '../../../src/worker/intake/admission.js';
import type { HeldLease } from '../../../src/worker/intake/lease.js';

const acquired = { kind: 'acquired', lease: {} as HeldLease } as const;
const base = { startNanos: 100n, retryDelayMs: 5000 };

describe('admission: what to do with a start, from the lease, the last end and any end seen', () => {
  it('retries when the lease store cannot be reached', () => {
    const cause = new Error('down');
    expect(admission({ ...base, lease: { kind: 'unavailable', cause } })).toEqual({ kind: 'retry', delayMs: 5000, cause });
  });
  it('comes back when another worker holds it', () => {
    expect(admission({ ...base, lease: { kind: 'held', holder: 'w2', retryInMs: 900 } })).toEqual({
      kind: 'held-elsewhere',
      holder: 'w2',
      retryInMs: 900,
    });
  });
  it('retries when the ends lookup failed', () => {
    const cause = new Error('timeout');
    expect(admission({ ...base, lease: acquired, lastEnd: { cause } })).toEqual({ kind: 'retry', delayMs: 5000, cause });
  });
  it('skips a start the stream ended after, by the stored end or one seen meanwhile', () => {
    expect(admission({ ...base, lease: acquired, lastEnd: { endedAtNanos: 101n } }).kind).toBe('skip-ended');
    expect(admission({ ...base, lease: acquired, lastEnd: {}, endSeenNanos: 101n }).kind).toBe('skip-ended');
    expect(admission({ ...base, lease: acquired, lastEnd: { endedAtNanos: 50n }, endSeenNanos: 150n }).kind).toBe('skip-ended');
  });
  it('screens when no end is strictly later (a tie screens: not screening a live stream is the risk)', () => {
    expect(admission({ ...base, lease: acquired, lastEnd: {} }).kind).toBe('screen');
    expect(admission({ ...base, lease: acquired, lastEnd: { endedAtNanos: 100n } }).kind).toBe('screen');
    expect(admission({ ...base, lease: acquired, lastEnd: { endedAtNanos: 50n } }).kind).toBe('screen');
  });
});
