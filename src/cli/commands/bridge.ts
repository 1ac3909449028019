import { startBridge } from '../../bridge/start-bridge.js';
import { readEnv, type StreamscreenEnv } from '../../config/index.js';
import { processIO, type CommandIO } from './io.js';
import { runService } from './serve.js';

const USAGE = `usage: streamscreen bridge [--config FILE]

Answers the ingest servers' publish hooks at POST /hooks/<ingest id> (nginx-rtmp on_publish /
on_publish_done, SRS http_hooks, MediaMTX authHTTPAddress, the signed generic webhook), refuses
blocked publishers and announces streams on NATS (streams.started.<id> / streams.ended.<id>).
Ingests, listener and fail-open/closed come from the config file (ingests[], bridge); NATS from
nats.* and NATS_URL. Runs until SIGTERM/SIGINT.
`;

export async function run(argv: string[], io: CommandIO = processIO, env: StreamscreenEnv = readEnv()): Promise<number> {
  return runService(
    {
      usage: USAGE,
      logName: 'streamscreen-bridge',
      start: startBridge,
    },
    argv,
    io,
    env,
  );
}
