import type { LoadSignals } from './signals.js';

/**
 * Graceful degradation as a pure function: the load measures say overload, headroom or neither;
 * the level steps up one at a time while overload persists, and down one at a time while headroom
 * persists (longer), each step restarting the clock so it can show its effect before the next.
 *
 * Levels: 0 normal; 1 keyframes only; 2 half the frame rate; 3 classifiers off for the
 * lowest-risk streams. The hash check is never turned off.
 */
export type DegradationLevel = 0 | 1 | 2 | 3;
export const MAX_DEGRADATION_LEVEL: DegradationLevel = 3;

export type Pressure = 'overload' | 'headroom' | 'steady';

export interface DegradeThresholds {
  readonly maxLevel: number;
  readonly cpuAbove: number;
  readonly eluAbove: number;
  readonly breachesAbove: number;
  readonly cpuBelow: number;
  readonly eluBelow: number;
  readonly breachesBelow: number;
  readonly enterAfterMs: number;
  readonly leaveAfterMs: number;
}

export interface DegradationState {
  readonly level: DegradationLevel;
  /** When the current run of overload began (reset by every step up). */
  readonly overloadSince?: number;
  /** When the current run of headroom began (reset by every step down). */
  readonly headroomSince?: number;
}

export const NOT_DEGRADED: DegradationState = { level: 0 };

/**
 * Overload when any known measure is above its limit; headroom when CPU and event loop are known
 * and below theirs, and the breach rate is below its own or unknown (too few frames to say); else
 * steady, which holds the level where it is.
 */
export function pressureOf(s: LoadSignals, o: DegradeThresholds): Pressure {
  const above = (v: number | undefined, limit: number): boolean => v !== undefined && v > limit;
  if (above(s.cpu, o.cpuAbove) || above(s.elu, o.eluAbove) || above(s.breaches, o.breachesAbove)) return 'overload';
  const below = s.cpu !== undefined && s.cpu < o.cpuBelow && s.elu !== undefined && s.elu < o.eluBelow;
  if (below && (s.breaches === undefined || s.breaches < o.breachesBelow)) return 'headroom';
  return 'steady';
}

/** The next state after observing `pressure` at `now` (monotonic ms). */
export function nextDegradation(state: DegradationState, pressure: Pressure, now: number, o: DegradeThresholds): DegradationState {
  const maxLevel = clampLevel(o.maxLevel);
  // A lowered maxLevel (or degradation switched off: 0) applies at once.
  if (state.level > maxLevel) return { level: maxLevel };
  if (pressure === 'overload') {
    const since = state.overloadSince ?? now;
    if (state.level < maxLevel && now - since >= o.enterAfterMs) return { level: clampLevel(state.level + 1), overloadSince: now };
    return { level: state.level, overloadSince: since };
  }
  if (pressure === 'headroom') {
    const since = state.headroomSince ?? now;
    if (state.level > 0 && now - since >= o.leaveAfterMs) return { level: clampLevel(state.level - 1), headroomSince: now };
    return { level: state.level, headroomSince: since };
  }
  return { level: state.level };
}

function clampLevel(n: number): DegradationLevel {
  return Math.max(0, Math.min(MAX_DEGRADATION_LEVEL, Math.trunc(n))) as DegradationLevel;
}
