/** Shifts for the exposure budget: fixed windows of `shiftMs` starting at 00:00 UTC + offset. */
export interface ShiftClock {
  readonly shiftMs: number;
  readonly offsetMs: number;
}

export function shiftIndex(c: ShiftClock, now: number): number {
  return Math.floor((now - c.offsetMs) / c.shiftMs);
}

export function shiftEndsAt(c: ShiftClock, now: number): number {
  return (shiftIndex(c, now) + 1) * c.shiftMs + c.offsetMs;
}
