/**
 * The one retry rule for the whole worker: publish retries, ingest's pull and dead-letter
 * retries and the sampler's ffmpeg restarts all back off the same way, so an outage looks the
 * same in every stage's logs and nobody tunes three formulas.
 */

/**
 * Delay before retry number `attempt` (1 = the first retry): exponential from `initialMs`,
 * doubling, capped at `maxMs`, with "equal jitter": the delay falls uniformly in [d/2, d]. A
 * fleet of workers hit by the same outage (a NATS node restarting, an ingest server dropping
 * every stream at once) spreads out instead of retrying in lockstep, yet nobody retries at once.
 * `random` must return [0, 1); tests pin it.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.max(0, Math.floor(attempt) - 1);
  // 2^30 already exceeds any sane cap; bounding the exponent keeps huge attempt counts finite.
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(exp, 30));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(ceiling / 2 + (r * ceiling) / 2);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      // Our signals are always aborted with an Error (AssignmentAbortedError, LeaseLostError, ...).
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
