import { parseArgs } from 'node:util';
import { jetstream } from '@nats-io/jetstream';
import { pino } from 'pino';
import { loadConfig, readEnv, type StreamscreenEnv } from '../../config/index.js';
import { SUBJECTS, subjectFor } from '../../contracts/index.js';
import { ensureAuditStream } from '../../enforcer/audit-stream.js';
import { listBlocks, liftBlocks } from '../../enforcer/block-admin.js';
import { ensureEnforcerBuckets } from '../../enforcer/kv-buckets.js';
import { connectNats, createDurablePublisher } from '../../nats/index.js';
import { processIO, type CommandIO } from './io.js';

const USAGE = `usage:
  streamscreen block list [--all] [--json]
  streamscreen block lift KEY... --by NAME [--note TEXT]
  streamscreen block lift --stream STREAM_ID --by NAME [--note TEXT]

list: the blocks in force (--all: expired ones too): key, what is blocked (stream keys masked),
      stream, reason, since, until.
lift: deletes the blocks (so the publisher may publish again) and records the lift in the audit
      stream (enforcement.actions.<streamId>) as done by NAME.

common options:
  --config FILE    config file (default config/streamscreen.json, or $STREAMSCREEN_CONFIG)
Exit status: 0 done, 1 failed or nothing to lift, 2 usage.
`;

class UsageError extends Error {}

export async function run(argv: string[], io: CommandIO = processIO, env: StreamscreenEnv = readEnv()): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === 'list' || sub === 'ls') return await list(rest, io, env);
    if (sub === 'lift') return await lift(rest, io, env);
    io.stdout.write(USAGE);
    return sub === undefined || sub === 'help' || sub === '--help' || sub === '-h' ? 0 : 2;
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      io.stderr.write(`${(err as Error).message}\n${USAGE}`);
      return 2;
    }
    io.stderr.write(`streamscreen block: ${(err as Error).message}\n`);
    return 1;
  }
}

async function open(configFile: string | undefined, env: StreamscreenEnv) {
  const loaded = loadConfig({ env, ...(configFile ? { file: configFile } : {}) });
  const logger = pino({ level: 'silent' });
  const nc = await connectNats(loaded.nats, logger, { instance: 'block-cli', reconnect: false });
  const js = jetstream(nc);
  const kv = await ensureEnforcerBuckets(js, loaded.config.bridge.recordTtlMs, logger);
  await ensureAuditStream(await js.jetstreamManager(), loaded.config.enforcer.auditMaxAgeMs, logger);
  return { nc, js, kv, logger, loaded };
}

async function list(argv: string[], io: CommandIO, env: StreamscreenEnv): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { config: { type: 'string' }, all: { type: 'boolean' }, json: { type: 'boolean' } },
  });
  const { nc, kv } = await open(values.config, env);
  try {
    const { blocks, unreadable } = await listBlocks(kv.blocks);
    const shown = blocks.filter((b) => values.all || b.active);
    if (values.json) {
      for (const b of shown) io.stdout.write(`${JSON.stringify({ ...b.block, active: b.active })}\n`);
    } else {
      io.stdout.write(['KEY', 'SCOPE', 'BLOCKED', 'STREAM', 'REASON', 'SINCE', 'UNTIL'].join('\t') + '\n');
      for (const { block: b, active } of shown) {
        const until = b.expiresAt ?? 'lifted by hand';
        io.stdout.write(
          [b.key, b.scope, b.display, b.streamId, b.reason, b.createdAt, active ? until : `expired ${until}`].join('\t') + '\n',
        );
      }
    }
    if (unreadable.length) io.stderr.write(`${unreadable.length} entries break the block contract: ${unreadable.join(', ')}\n`);
    return 0;
  } finally {
    await nc.close();
  }
}

async function lift(argv: string[], io: CommandIO, env: StreamscreenEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string' }, stream: { type: 'string' }, by: { type: 'string' }, note: { type: 'string' } },
  });
  if (!values.stream && positionals.length === 0) throw new UsageError('name the blocks to lift: KEY... or --stream STREAM_ID');
  // The audit says who lifted a block; there is no anonymous lift.
  if (!values.by) throw new UsageError('say who lifts the block: --by NAME');
  const { nc, js, kv, logger, loaded } = await open(values.config, env);
  try {
    const { blocks } = await listBlocks(kv.blocks);
    const chosen = blocks
      .map((b) => b.block)
      .filter((b) => positionals.includes(b.key) || (values.stream !== undefined && b.streamId === values.stream));
    const missing = positionals.filter((k) => !chosen.some((b) => b.key === k));
    if (missing.length) io.stderr.write(`no such block: ${missing.join(', ')}\n`);
    if (!chosen.length) return 1;
    const publisher = createDurablePublisher({
      js,
      logger,
      settings: {
        timeoutMs: 5_000,
        retryInitialDelayMs: loaded.config.publish.retryBaseMs,
        retryMaxDelayMs: loaded.config.publish.retryMaxMs,
      },
    });
    const n = await liftBlocks({
      kv: kv.blocks,
      blocks: chosen,
      reason: 'operator',
      by: values.by,
      ...(values.note ? { note: values.note } : {}),
      audit: async (a) => {
        await publisher.publish(subjectFor(SUBJECTS.enforcementAction, a.streamId), a, { signal: AbortSignal.timeout(15_000) });
      },
    });
    io.stdout.write(`lifted ${n} block(s): ${chosen.map((b) => `${b.key} (${b.display})`).join(', ')}\n`);
    return missing.length ? 1 : 0;
  } finally {
    await nc.close();
  }
}
