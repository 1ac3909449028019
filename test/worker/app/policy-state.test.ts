import { describe, expect, it } from 'vitest';
import { parsePolicyState } from '../../../src/worker/app/policy-state.js';

describe('policy state read back from KV', () => {
  it('takes the fields the policy uses', () => {
    expect(parsePolicyState({ lastKillSwitchAt: 5, lastEscalationAt: { high: 7 } })).toEqual({
      lastKillSwitchAt: 5,
      lastEscalationAt: { high: 7 },
    });
    expect(parsePolicyState({ lastEscalationAt: {} })).toEqual({ lastEscalationAt: {} });
    expect(parsePolicyState({})).toEqual({ lastEscalationAt: {} });
  });

  it('refuses the whole value when a field is not a time, rather than screen on a guess', () => {
    for (const bad of [
      null,
      'x',
      { lastKillSwitchAt: 'soon' },
      { lastKillSwitchAt: -1 },
      { lastEscalationAt: { critical: Number.NaN } },
      { lastEscalationAt: 3 },
    ]) {
      expect(parsePolicyState(bad)).toBeUndefined();
    }
  });
});
