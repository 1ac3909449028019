import { parseArgs } from 'node:util';
import { loadConfig, type LoadedConfig, type StreamscreenEnv } from '../../config/index.js';
import type { Logger } from '../../domain/logger.js';
import type { CommandIO } from './io.js';
import { createLogger } from './logger.js';

/** What a long-running deployable offers its command: a stop, and optionally a reload on SIGHUP. */
export interface Service {
  /** Resolves false when the stop was cut short (the worker's shutdown deadline): exit code 1. */
  stop(): Promise<void | boolean>;
}

export interface ServiceCommand<S extends Service> {
  readonly usage: string;
  /** pino `name` of the process's log lines; the worker's default when absent. */
  readonly logName?: string;
  start(loaded: LoadedConfig, logger: Logger): Promise<S>;
  /** SIGHUP (e.g. the worker re-reads its hash list files). */
  onHangup?(service: S, logger: Logger): Promise<void>;
}

/**
 * The whole of `streamscreen worker|bridge|enforcer`: `--config FILE` or `--help`, the config
 * loaded once, the service started, and run until a signal. Every deployable shuts down the same
 * way, so an operator learns it once.
 */
export async function runService<S extends Service>(
  cmd: ServiceCommand<S>,
  argv: string[],
  io: CommandIO,
  env: StreamscreenEnv,
): Promise<number> {
  let values: { config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n${cmd.usage}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(cmd.usage);
    return 0;
  }
  const loaded = loadConfig({ env, ...(values.config ? { file: values.config } : {}) });
  const logger = createLogger(loaded.config.log.level, cmd.logName);
  if (loaded.file) logger.info({ file: loaded.file }, 'configuration loaded');
  const service = await cmd.start(loaded, logger);
  if (cmd.onHangup) {
    process.on('SIGHUP', () => void cmd.onHangup?.(service, logger).catch((err: unknown) => logger.error({ err }, 'reload failed')));
  }
  const code = await serveUntilSignalled(service, logger);
  // The process ends when the shutdown does: a handle left open (a socket to a NATS that is gone,
  // a timer of a client still reconnecting) must not keep it past its deadline. Logs are written
  // synchronously (pino.destination), so nothing is lost.
  process.exit(code);
}

/**
 * Runs a started service until SIGTERM/SIGINT, then stops it; a second signal exits at once (open
 * NATS and ffmpeg handles would keep the process alive; the samplers' lifelines take their ffmpeg
 * processes down with it). Resolves with the exit code.
 */
export function serveUntilSignalled(service: Service, logger: Logger): Promise<number> {
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
        (clean) => resolve(clean === false ? 1 : 0),
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
