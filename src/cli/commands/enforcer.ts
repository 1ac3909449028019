import { parseArgs } from 'node:util';
import { loadConfig, readEnv, type StreamscreenEnv } from '../../config/index.js';
import { startEnforcer } from '../../enforcer/start-enforcer.js';
import { createLogger } from './logger.js';
import { processIO, type CommandIO } from './io.js';
import { serveUntilSignalled } from './serve.js';

const USAGE = `usage: streamscreen enforcer [--config FILE]

Carries out kill-switches (screening.killswitch.*; never shadow decisions): blocks the publisher
from publishing again (enforcer.blockMs, permanent for hash-list kills unless
enforcer.hashKillsPermanent is false) and has its ingest drop it (ingests[].control). Every
action and result goes to the audit stream (enforcement.actions.<streamId>). Runs until
SIGTERM/SIGINT.
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
  const logger = createLogger(loaded.config.log.level, 'streamscreen-enforcer');
  const enforcer = await startEnforcer(loaded, logger);
  return serveUntilSignalled(enforcer, logger);
}
