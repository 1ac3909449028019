/**
 * Remembers the signatures of accepted generic webhooks until they leave the replay window, so a
 * captured request is refused even inside the window. Bounded: past `max` entries the oldest go
 * first (insertion order is expiry order, since every entry lives for the same window).
 */
export interface ReplayGuard {
  /** True the first time a signature is seen within the window. */
  firstSeen(signature: string, nowMs?: number): boolean;
}

export function createReplayGuard(windowMs: number, max = 100_000): ReplayGuard {
  const seen = new Map<string, number>();
  return {
    firstSeen(signature, nowMs = Date.now()) {
      for (const [sig, expires] of seen) {
        if (expires > nowMs && seen.size < max) break;
        seen.delete(sig);
      }
      if (seen.has(signature)) return false;
      // A signature stays valid for the window on either side of its timestamp.
      seen.set(signature, nowMs + 2 * windowMs);
      return true;
    },
  };
}
