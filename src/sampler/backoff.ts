/**
 * Delay before restart number `failures` (1 = first restart): exponential from `baseMs`, capped
 * at `maxMs`, with "equal jitter": the delay falls uniformly in [d/2, d], so a fleet of workers
 * whose streams all dropped together (an ingest node restarting) do not reconnect in lockstep,
 * yet nobody retries at once.
 */
export function backoffDelay(failures: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.max(0, Math.floor(failures) - 1);
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(exp, 30));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(ceiling / 2 + (r * ceiling) / 2);
}
