import { readEnv, type StreamscreenEnv } from '../../config/index.js';
import { startEnforcer } from '../../enforcer/start-enforcer.js';
import { processIO, type CommandIO } from './io.js';
import { runService } from './serve.js';

const USAGE = `usage: streamscreen enforcer [--config FILE]

Carries out kill-switches (screening.killswitch.*; never shadow decisions): blocks the publisher
from publishing again (enforcer.blockMs, permanent for hash-list kills unless
enforcer.hashKillsPermanent is false) and has its ingest drop it (ingests[].control). Every
action and result goes to the audit stream (enforcement.actions.<streamId>). Runs until
SIGTERM/SIGINT.
`;

export async function run(argv: string[], io: CommandIO = processIO, env: StreamscreenEnv = readEnv()): Promise<number> {
  return runService(
    {
      usage: USAGE,
      logName: 'streamscreen-enforcer',
      start: startEnforcer,
    },
    argv,
    io,
    env,
  );
}
