import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { LoadedConfig } from '../../config/index.js';
import { connectNats } from '../../nats/index.js';
import { findCase, type CaseHistory } from '../../worker/review/case-lookup.js';
import type { CommandIO } from './io.js';
import { commandConfig, silentLogger, type TargetFlags } from './nats-target.js';

export interface CaseContext {
  readonly loaded: LoadedConfig;
  readonly js: JetStreamClient;
  readonly found: CaseHistory;
}

/**
 * What `review` and `evidence` both do before their own work: load the workers' configuration,
 * connect once, find the case by any id that names it, and say so (exit 1) when there is none.
 * The connection is closed whatever the body does.
 */
export async function withCase(
  command: string,
  flags: TargetFlags,
  env: Readonly<Record<string, string | undefined>>,
  io: CommandIO,
  ref: string,
  body: (ctx: CaseContext) => Promise<number>,
): Promise<number> {
  const { loaded, nats } = commandConfig(flags, env);
  const nc = await connectNats(nats, silentLogger, { instance: `${command}-cli-${process.pid}` });
  try {
    const js = jetstream(nc);
    const found = await findCase(js, loaded.stages.review, loaded.stages.publisher.decisionsStream, ref);
    if (!found) {
      io.stderr.write(`streamscreen ${command}: no case or event '${ref}' found\n`);
      return 1;
    }
    return await body({ loaded, js, found });
  } finally {
    await nc.close();
  }
}
