import { describe, expect, it } from 'vitest';
import { possibleMinor } from '../../../src/worker/policy/possible-minor.js';
import { policyOptions } from '../../support/stage-options.js';

/** The policy's configured default. */
const challengeAge = policyOptions().challengeAge;

describe('possibleMinor', () => {
  it('uses a challenge age of 25 by default, not 18', () => {
    expect(challengeAge).toBe(25);
    expect(possibleMinor([{ age: 21.3 }], challengeAge)).toBe(true);
    expect(possibleMinor([{ age: 25 }], challengeAge)).toBe(false);
    expect(possibleMinor([{ age: 24.99 }], challengeAge)).toBe(true);
  });

  it('is true when any face is under the challenge age', () => {
    expect(possibleMinor([{ age: 41 }, { age: 37.5 }, { age: 19 }], challengeAge)).toBe(true);
    expect(possibleMinor([{ age: 41 }, { age: 37.5 }], challengeAge)).toBe(false);
  });

  it('takes the challenge age as a parameter', () => {
    expect(possibleMinor([{ age: 30 }], 35)).toBe(true);
    expect(possibleMinor([{ age: 30 }], 18)).toBe(false);
  });

  it('says nothing (false) for a frame without faces', () => {
    expect(possibleMinor([], challengeAge)).toBe(false);
  });

  it('treats a failed (NaN) age estimate as possibly a minor rather than an adult', () => {
    expect(possibleMinor([{ age: Number.NaN }], challengeAge)).toBe(true);
  });

  it('rejects a nonsensical challenge age', () => {
    expect(() => possibleMinor([{ age: 20 }], 0)).toThrow(RangeError);
    expect(() => possibleMinor([{ age: 20 }], Number.NaN)).toThrow(RangeError);
  });
});
