import { describe, expect, it } from 'vitest';
import { LeaseHealth } from '../../../src/worker/intake/lease-health.js';

describe('lease health', () => {
  it('reports an issue for a window after it was last seen, with how often', () => {
    let now = 0;
    const health = new LeaseHealth(1000, () => now);
    expect(health.problems()).toEqual([]);
    health.record('s1', 'vanished');
    now = 500;
    health.record('s1', 'vanished');
    expect(health.problems()).toEqual(['lease vanished on s1 (2x)']);
    now = 1400;
    expect(health.problems()).toEqual(['lease vanished on s1 (2x)']);
    now = 1500;
    expect(health.problems()).toEqual([]);
  });

  it('calls a stream flapping on its third change of hands within the window, not before', () => {
    let now = 0;
    const health = new LeaseHealth(10_000, () => now);
    expect(health.ownershipChanged('s1')).toBeUndefined();
    now = 4000;
    expect(health.ownershipChanged('s1')).toBeUndefined();
    expect(health.ownershipChanged('s2')).toBeUndefined();
    now = 8000;
    expect(health.ownershipChanged('s1')).toBe('flapping');
    expect(health.problems()).toEqual(['lease flapping on s1']);
    // Changes spread wider than the window are ordinary takeovers.
    now = 30_000;
    expect(health.ownershipChanged('s2')).toBeUndefined();
    now = 45_000;
    expect(health.ownershipChanged('s2')).toBeUndefined();
    expect(health.problems()).toEqual([]);
  });
});
