import { readEnv, type StreamscreenEnv } from '../../config/index.js';
import { startWorker } from '../../worker/app/start-worker.js';
import { processIO, type CommandIO } from './io.js';
import { runService } from './serve.js';

const USAGE = `usage: streamscreen worker [--config FILE]

Screens the streams announced on NATS JetStream (streams.started.<id>) until SIGTERM/SIGINT.
Configuration: the JSON file (default config/streamscreen.json, or STREAMSCREEN_CONFIG), then
NATS_URL, STREAMSCREEN_HASH_LISTS, FFMPEG_PATH and LOG_LEVEL from the environment.
SIGHUP re-reads the hash list files. SIGTERM/SIGINT stop within worker.shutdownTimeoutMs, NATS
reachable or not (decisions not yet published stay in the outbox for the next start; exit code 1
when the deadline cut the shutdown short); a second signal exits at once.
`;

export async function run(argv: string[], io: CommandIO = processIO, env: StreamscreenEnv = readEnv()): Promise<number> {
  return runService(
    {
      usage: USAGE,
      start: startWorker,
      onHangup: (worker) => worker.reloadLists(),
    },
    argv,
    io,
    env,
  );
}
