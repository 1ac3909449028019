/**
 * Cumulative readings kept over a time window, so a rate over the window is (newest - oldest) /
 * elapsed. The oldest reading kept is the last one at or before the window's start, so the
 * window is covered whole once it has been running that long.
 */
export class RollingReadings<T> {
  #readings: { at: number; value: T }[] = [];

  constructor(private readonly windowMs: number) {}

  push(at: number, value: T): void {
    this.#readings.push({ at, value });
    const start = at - this.windowMs;
    while (this.#readings.length > 2 && this.#readings[1]!.at <= start) this.#readings.shift();
  }

  /** The oldest and newest readings, once there are two. */
  span(): { readonly from: { at: number; value: T }; readonly to: { at: number; value: T } } | undefined {
    if (this.#readings.length < 2) return undefined;
    return { from: this.#readings[0]!, to: this.#readings.at(-1)! };
  }
}

/** Events counted in one-second buckets over a window: decided frames and those over the budget. */
export class BreachCounter {
  #buckets = new Map<number, { frames: number; breaches: number }>();

  constructor(private readonly windowMs: number) {}

  record(at: number, breached: boolean, counted = true): void {
    const key = Math.floor(at / 1000);
    const b = this.#buckets.get(key) ?? { frames: 0, breaches: 0 };
    if (counted) b.frames++;
    if (breached) b.breaches++;
    this.#buckets.set(key, b);
  }

  /** Frames and breaches in the window ending at `now`; older buckets are dropped. */
  totals(now: number): { frames: number; breaches: number } {
    const oldest = Math.floor((now - this.windowMs) / 1000);
    let frames = 0;
    let breaches = 0;
    for (const [key, b] of this.#buckets) {
      if (key < oldest) {
        this.#buckets.delete(key);
        continue;
      }
      frames += b.frames;
      breaches += b.breaches;
    }
    return { frames, breaches };
  }
}
