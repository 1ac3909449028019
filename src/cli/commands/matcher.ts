import { parseArgs } from 'node:util';
import { loadConfig, readEnv, type StreamscreenEnv } from '../../config/index.js';
import { startMatcher } from '../../matcher/start-matcher.js';
import { createLogger } from './logger.js';
import { processIO, type CommandIO } from './io.js';
import { serveUntilSignalled } from './serve.js';

const USAGE = `usage: streamscreen matcher serve [--config FILE] [--host H] [--port P]

Serves the hash lists (hash.lists files and the Object Store bucket, as the worker sees them)
over the Hasher-Matcher-Actioner's lookup API, each list a bank:
  GET  /m/lookup?signal_type=pdq&signal=HEX[&banks=A,B]   matches by bank
  POST /m/lookup   (multipart/form-data, one image in a field named 'photo')
  GET  /m/raw_lookup?signal_type=pdq&signal=HEX[&include_distance=true]
  GET  /m/index/status,  GET /c/banks,  GET /c/bank/NAME
Settings: matcher.host (127.0.0.1), matcher.port (5000), matcher.maxUploadBytes, matcher.logRequests (false); SIGHUP re-reads
the list files; SIGTERM/SIGINT stop it (a second signal exits at once).
`;

export async function run(argv: string[], io: CommandIO = processIO, env: StreamscreenEnv = readEnv()): Promise<number> {
  let values: { config?: string; host?: string; port?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { config: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    io.stderr.write(`streamscreen matcher: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  if (positionals[0] !== 'serve' || positionals.length !== 1) {
    io.stderr.write(`streamscreen matcher: expected 'serve'\n\n${USAGE}`);
    return 2;
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    io.stderr.write(`streamscreen matcher: --port must be 0..65535, got '${values.port}'\n\n${USAGE}`);
    return 2;
  }
  const loaded = loadConfig({
    env,
    ...(values.config ? { file: values.config } : {}),
    overrides: { matcher: { ...(values.host ? { host: values.host } : {}), ...(port === undefined ? {} : { port }) } },
  });
  const logger = createLogger(loaded.config.log.level);
  const running = await startMatcher(loaded, logger);
  // The port actually bound (0 picks one): scripts and tests read it here.
  io.stdout.write(`listening on http://${loaded.config.matcher.host}:${running.port}\n`);
  process.on('SIGHUP', () => {
    running.reloadLists().catch((err: unknown) => logger.error({ err }, 'hash list reload failed'));
  });
  return serveUntilSignalled(running, logger);
}
