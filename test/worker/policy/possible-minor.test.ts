import { describe, expect, it } from 'vitest';
import { DEFAULT_CHALLENGE_AGE, possibleMinor } from '../../../src/worker/policy/possible-minor.js';

describe('possibleMinor', () => {
  it('uses a challenge age of 25 by default, not 18', () => {
    expect(DEFAULT_CHALLENGE_AGE).toBe(25);
    expect(possibleMinor([{ age: 21.3 }])).toBe(true);
    expect(possibleMinor([{ age: 25 }])).toBe(false);
    expect(possibleMinor([{ age: 24.99 }])).toBe(true);
  });

  it('is true when any face is under the challenge age', () => {
    expect(possibleMinor([{ age: 41 }, { age: 37.5 }, { age: 19 }])).toBe(true);
    expect(possibleMinor([{ age: 41 }, { age: 37.5 }])).toBe(false);
  });

  it('takes the challenge age as a parameter', () => {
    expect(possibleMinor([{ age: 30 }], 35)).toBe(true);
    expect(possibleMinor([{ age: 30 }], 18)).toBe(false);
  });

  it('says nothing (false) for a frame without faces', () => {
    expect(possibleMinor([])).toBe(false);
  });

  it('treats a failed (NaN) age estimate as possibly a minor rather than an adult', () => {
    expect(possibleMinor([{ age: Number.NaN }])).toBe(true);
  });

  it('rejects a nonsensical challenge age', () => {
    expect(() => possibleMinor([{ age: 20 }], 0)).toThrow(RangeError);
    expect(() => possibleMinor([{ age: 20 }], Number.NaN)).toThrow(RangeError);
  });
});
