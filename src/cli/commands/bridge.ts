import { parseArgs } from 'node:util';
import { startBridge } from '../../bridge/start-bridge.js';
import { loadConfig, readEnv, type StreamscreenEnv } from '../../config/index.js';
import { createLogger } from './logger.js';
import { processIO, type CommandIO } from './io.js';
import { serveUntilSignalled } from './serve.js';

const USAGE = `usage: streamscreen bridge [--config FILE]

Answers the ingest servers' publish hooks at POST /hooks/<ingest id> (nginx-rtmp on_publish /
on_publish_done, SRS http_hooks, MediaMTX authHTTPAddress, the signed generic webhook), refuses
blocked publishers and announces streams on NATS (streams.started.<id> / streams.ended.<id>).
Ingests, listener and fail-open/closed come from the config file (ingests[], bridge); NATS from
nats.* and NATS_URL. Runs until SIGTERM/SIGINT.
`;

export async function run(argv: string[], io: CommandIO = processIO, env: StreamscreenEnv = readEnv()): Promise<number> {
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
  const logger = createLogger(loaded.config.log.level, 'streamscreen-bridge');
  const bridge = await startBridge(loaded, logger);
  return serveUntilSignalled(bridge, logger);
}
