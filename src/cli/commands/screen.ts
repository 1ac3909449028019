import { parseArgs } from 'node:util';
import { loadConfig, readEnv, type StreamscreenEnv } from '../../config/index.js';
import { screeningFailureEvent } from '../../domain/failure.js';
import type { DecisionSink } from '../../domain/ports.js';
import { buildScreeningStages, createScreener } from '../../worker/app/stages.js';
import { workerMetricsListeners } from '../../worker/app/worker-metrics.js';
import type { WorkerEvents } from '../../worker/events.js';
import { createHooks } from '../../domain/hooks.js';
import { createMetrics } from '../../metrics/metrics.js';
import { createLogger } from './logger.js';
import { processIO, type CommandIO } from './io.js';

const USAGE = `usage: streamscreen screen URL [options]

Screens one stream without NATS and prints each decision as a JSON line on stdout: kill-switches
and case events (case_opened, case_updated, case_closed: one case per reason class, with its
caseId, priority and policy.rule; evidence is not stored here) and failures. Logs go to stderr.
Stops at the end of the source or on SIGINT.

options:
  --lists FILE[,FILE...]  hash lists (kill action), in addition to the configured ones
  --fps N                 frames per second to sample (default from config: 1)
  --allow-files           accept a local file path or file: URL as the source (testing)
  --no-classify           hash matching only
  --stream-id ID          id to put in the events (default "cli")
  --config FILE           config file (default config/streamscreen.json, or STREAMSCREEN_CONFIG)
`;

export async function run(argv: string[], io: CommandIO = processIO, env: StreamscreenEnv = readEnv()): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        lists: { type: 'string' },
        fps: { type: 'string' },
        'allow-files': { type: 'boolean' },
        'no-classify': { type: 'boolean' },
        'stream-id': { type: 'string' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
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
  if (positionals.length !== 1) {
    io.stderr.write(`screen: expected exactly one URL\n${USAGE}`);
    return 2;
  }
  const url = positionals[0]!;
  const fps = values.fps === undefined ? undefined : Number(values.fps);
  const extraLists = (values.lists ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const loaded = loadConfig({
    // --lists adds kill lists named after their files, as STREAMSCREEN_HASH_LISTS does.
    env: extraLists.length
      ? { ...env, STREAMSCREEN_HASH_LISTS: [env.STREAMSCREEN_HASH_LISTS ?? '', ...extraLists].filter(Boolean).join(',') }
      : env,
    ...(values.config ? { file: values.config } : {}),
    overrides: {
      sampler: { ...(fps === undefined ? {} : { fps }), ...(values['allow-files'] ? { allowFiles: true } : {}) },
      ...(values['no-classify'] ? { classify: { enabled: false } } : {}),
    },
  });
  const logger = createLogger(loaded.config.log.level);
  const events = createHooks<WorkerEvents>(logger, workerMetricsListeners(createMetrics({ defaultMetrics: false })));
  const stages = await buildScreeningStages(loaded, logger, events);

  const print = async (event: object) => {
    io.stdout.write(JSON.stringify(event) + '\n');
  };
  // A page repeats what its case_opened / priority_raised event says: the case events are printed instead.
  const sink: DecisionSink = { killSwitch: print, escalation: async () => {}, failure: print, caseEvent: print, quarantine: print };
  const screener = createScreener(loaded, stages, { workerId: 'cli', logger, events, sink });

  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const start = { streamId: values['stream-id'] ?? 'cli', url, metadata: {} };
    const runId = `cli-${process.pid}-${Date.now()}`;
    const outcome = await screener.screen({ start, runId, signal: ac.signal, publishSignal: ac.signal, assertOwned: async () => {} });
    // This command is the assigner here (no intake): a stream that could not be screened is printed as its failure event.
    if (outcome.kind === 'failed') await print(screeningFailureEvent({ start, runId, workerId: 'cli', error: outcome.error }));
    logger.info({ outcome: outcome.kind }, 'screening finished');
    return outcome.kind === 'failed' ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stages.close();
  }
}
