import type { Logger } from '../../domain/logger.js';

/**
 * Runs a started service until SIGTERM/SIGINT, then stops it; a second signal exits at once.
 * Resolves with the exit code.
 */
export function serveUntilSignalled(service: { stop(): Promise<void> }, logger: Logger): Promise<number> {
  return new Promise<number>((resolve) => {
    let signals = 0;
    const shutdown = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      logger.info({ signal }, 'shutting down');
      service.stop().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
  });
}
