import { parseArgs } from 'node:util';
import { loadConfig, readEnv, type StreamscreenEnv } from '../../config/index.js';
import { hashPassword } from '../../console/auth/passwords.js';
import { startConsole } from '../../console/start-console.js';
import { createLogger } from './logger.js';
import { processIO, type CommandIO } from './io.js';

const USAGE = `usage: streamscreen console [--config FILE] [--assets DIR]
       streamscreen console hash-password < password.txt

Serves the reviewer console (live case queue, evidence, decisions) on console.host:console.port
until SIGTERM/SIGINT. Needs console.sessionSecret and console.accounts (or console.trustedHeader)
in the config file, and evidence.keys to open encrypted evidence.

hash-password reads one password from stdin and prints the scrypt hash for console.accounts[].passwordHash.
`;

export async function run(argv: string[], io: CommandIO = processIO, env: StreamscreenEnv = readEnv()): Promise<number> {
  let parsed: { values: { config?: string; assets?: string; help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { config: { type: 'string' }, assets: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  if (positionals[0] === 'hash-password') return printHash(io);
  if (positionals.length > 0) {
    io.stderr.write(`unknown argument '${positionals[0]}'\n${USAGE}`);
    return 2;
  }

  const loaded = loadConfig({ env, ...(values.config ? { file: values.config } : {}) });
  const logger = createLogger(loaded.config.log.level, 'streamscreen-console');
  const handle = await startConsole(loaded, logger, values.assets ? { assetsDir: values.assets } : {});
  io.stdout.write(`console listening on ${handle.url}\n`);

  return new Promise<number>((resolve) => {
    const shutdown = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'shutting down');
      handle.stop().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  });
}

async function printHash(io: CommandIO): Promise<number> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  // One line: a trailing newline from `echo` or a file is not part of the password.
  const password = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (!password) {
    io.stderr.write('no password on stdin\n');
    return 2;
  }
  io.stdout.write(`${await hashPassword(password)}\n`);
  return 0;
}
