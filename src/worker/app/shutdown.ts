import type { Logger } from '../../domain/logger.js';

/** What a shutdown does, in order; each step is cut short by its share of the deadline. */
export interface ShutdownSteps {
  /** Stop taking streams, let in-flight frames finish, hand held streams back. */
  handBack(): Promise<void>;
  /** The deadline is near: hand back at once, without waiting for streams to finish. */
  cutShort(): void;
  /** Publish what the outbox holds; false when the signal aborted first. */
  flush(signal: AbortSignal): Promise<boolean>;
  /** What is still open, for the log line when the deadline cuts in. */
  pending(): { readonly outbox: number; readonly streams: readonly string[] };
  /** Close everything (outbox before the connection). */
  close(): Promise<void>;
  /** Close the connection without draining (NATS unreachable). */
  forceClose(): Promise<void>;
}

/**
 * Runs a shutdown that ends by `timeoutMs` whatever NATS does. Handing streams back gets the time
 * up to the deadline less a reserve for the outbox and closing; publishing the outbox gets up to
 * the last close reserve; closing the rest. A step that overruns its share is left behind (it
 * holds nothing the next one needs) and what it had open is closed by force. Resolves true when
 * every step finished in time and the outbox is empty; a false leaves the outbox's remainder on
 * disk for the next start.
 */
export async function shutdownWithin(timeoutMs: number, logger: Logger, steps: ShutdownSteps): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  // Shares of the deadline: half (at most 5 s) for flushing and closing, of which a quarter (at most 2 s) for closing.
  const flushReserve = Math.min(5_000, timeoutMs / 2);
  const closeReserve = Math.min(2_000, timeoutMs / 4);
  const until = (t: number): AbortSignal => AbortSignal.timeout(Math.max(0, Math.round(t - Date.now())));
  logger.info({ timeoutMs }, 'worker stopping: handing streams back');

  const logged = (what: string, p: Promise<unknown>): Promise<unknown> =>
    p.catch((err: unknown) => logger.error({ err }, `${what} failed`));
  let clean = await within(logged('handing streams back', steps.handBack()), until(deadline - flushReserve));
  if (!clean) {
    logger.warn({ pending: steps.pending() }, 'handing streams back is taking too long: cutting it short');
    steps.cutShort();
  }
  const flushed = await steps.flush(until(deadline - closeReserve));
  if (!flushed) logger.warn({ pending: steps.pending() }, 'outbox not empty at the deadline: the rest is published at the next start');
  const closed = await within(logged('closing', steps.close()), until(deadline));
  if (!closed) {
    logger.warn('closing is taking too long: closing the NATS connection without draining');
    await steps.forceClose().catch((err: unknown) => logger.warn({ err }, 'closing the NATS connection failed'));
  }
  clean = clean && flushed && closed;
  logger.info({ clean, pending: steps.pending() }, 'worker stopped');
  return clean;
}

/** True when `p` settles before the signal aborts. */
async function within(p: Promise<unknown>, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  return new Promise<boolean>((resolve) => {
    const onAbort = (): void => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
    void p.finally(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    });
  });
}
