import { parseArgs } from 'node:util';
import { loadConfig, readEnv, type StreamscreenEnv } from '../../config/index.js';
import { startWorker } from '../../worker/app/start-worker.js';
import { createLogger } from './logger.js';
import { processIO, type CommandIO } from './io.js';

const USAGE = `usage: streamscreen worker [--config FILE]

Screens the streams announced on NATS JetStream (streams.started.<id>) until SIGTERM/SIGINT.
Configuration: the JSON file (default config/streamscreen.json, or STREAMSCREEN_CONFIG), then
NATS_URL, STREAMSCREEN_HASH_LISTS, FFMPEG_PATH and LOG_LEVEL from the environment.
SIGHUP re-reads the hash list files. SIGTERM/SIGINT stop within worker.shutdownTimeoutMs, NATS
reachable or not (decisions not yet published stay in the outbox for the next start); a second
signal exits at once.
`;

export async function run(
  argv: string[],
  io: CommandIO = processIO,
  env: StreamscreenEnv = readEnv(),
  // The process ends when the shutdown does: a handle left open (a socket to a NATS that is gone)
  // must not keep it past the deadline. Logs are written synchronously (pino.destination).
  exit: (code: number) => never = (code) => process.exit(code),
): Promise<number> {
  let values: { config?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const loaded = loadConfig({ env, ...(values.config ? { file: values.config } : {}) });
  const logger = createLogger(loaded.config.log.level);
  if (loaded.file) logger.info({ file: loaded.file }, 'configuration loaded');
  const worker = await startWorker(loaded, logger);

  return new Promise<number>((resolve) => {
    let signals = 0;
    const shutdown = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        logger.warn({ signal }, 'second signal: exiting without handing streams back');
        // Open NATS and ffmpeg handles would keep the process alive; the samplers' lifelines
        // take their ffmpeg processes down with us.
        process.exit(130);
      }
      logger.info({ signal }, 'shutting down');
      worker.stop().then(
        (clean) => {
          resolve(clean ? 0 : 1);
          exit(clean ? 0 : 1);
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(1);
          exit(1);
        },
      );
    };
    process.on('SIGTERM', shutdown);
    process.on('SIGINT', shutdown);
    process.on('SIGHUP', () => {
      worker.reloadLists().catch((err: unknown) => logger.error({ err }, 'hash list reload failed'));
    });
  });
}
