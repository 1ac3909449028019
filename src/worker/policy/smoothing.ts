import type { EscalationPriority } from '../../contracts/index.js';

/**
 * Temporal smoothing of classifier signals: a reason class escalates only when its signal was
 * present on k of the last n classified frames, so one odd frame (a cartoon, a skin-toned
 * gradient) pages nobody while a sustained signal still does within k frames. Frames the
 * classifiers did not see are not counted either way.
 *
 * A window holds one level per frame: 0 none, then the priority that frame alone would have
 * had. The class's priority is the highest one that itself reached k frames, so a possible
 * minor on k frames makes a case critical while explicit content alone stays normal.
 */
export const LEVEL: Readonly<Record<EscalationPriority | 'none', number>> = { none: 0, normal: 1, high: 2, critical: 3 };
const BY_LEVEL: readonly EscalationPriority[] = ['normal', 'high', 'critical'];

export function pushLevel(window: readonly number[] | undefined, level: number, n: number): number[] {
  const w = window ? window.slice(Math.max(0, window.length - n + 1)) : [];
  w.push(level);
  return w;
}

/** The highest priority with at least k frames at or above it, or undefined. */
export function smoothedPriority(window: readonly number[], k: number): EscalationPriority | undefined {
  for (let p = BY_LEVEL.length - 1; p >= 0; p--) {
    const level = p + 1;
    let count = 0;
    for (const l of window) if (l >= level) count++;
    if (count >= k) return BY_LEVEL[p];
  }
  return undefined;
}

export function rank(p: EscalationPriority): number {
  return LEVEL[p];
}

export function maxPriority(a: EscalationPriority, b: EscalationPriority): EscalationPriority {
  return rank(a) >= rank(b) ? a : b;
}
