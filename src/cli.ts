#!/usr/bin/env node
/**
 * Command-line entry point. Each command lives in src/cli/commands/<name>.ts and is imported only
 * when used, so `streamscreen hash` does not load onnxruntime or connect to NATS.
 * A command module exports `run(argv, io, env)` returning the exit code; the environment is read
 * here, through config/, and handed down.
 */
import { processIO, type CommandIO } from './cli/commands/io.js';
import { readEnv } from './config/env.js';
import { redactUrlsInText } from './domain/redact.js';

interface CommandModule {
  run(argv: string[], io: CommandIO, env: Readonly<Record<string, string | undefined>>): Promise<number>;
}

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  worker: { summary: 'screen streams announced on NATS JetStream (the service)', load: () => import('./cli/commands/worker.js') },
  screen: {
    summary: 'screen one stream URL without NATS, printing decisions as JSON lines',
    load: () => import('./cli/commands/screen.js'),
  },
  hash: {
    summary: 'print PDQ hash,quality,file for image files (--dihedral for all 8 hashes)',
    load: () => import('./cli/commands/hash.js'),
  },
  classify: {
    summary: 'run the nudity and face/age classifiers on image files, one JSON line each',
    load: () => import('./cli/commands/classify.js'),
  },
  hashlist: {
    summary: 'publish, list, inspect, delete or check hash lists (NATS Object Store)',
    load: () => import('./cli/commands/hashlist.js'),
  },
  console: {
    summary: 'serve the reviewer console: live case queue, evidence, decisions (hash-password for accounts)',
    load: () => import('./cli/commands/console.js'),
  },
  match: { summary: 'look one PDQ hash up in the published (or local) hash lists', load: () => import('./cli/commands/match.js') },
  matcher: {
    summary: "serve the hash lists over the Hasher-Matcher-Actioner's lookup API (lists as banks)",
    load: () => import('./cli/commands/matcher.js'),
  },
  vpdq: {
    summary: "hash a video file or stream in Meta's vPDQ format (a known-video list)",
    load: () => import('./cli/commands/vpdq.js'),
  },
  review: {
    summary: 'confirm, dismiss, escalate or add-to-list an escalation case, and print the ack',
    load: () => import('./cli/commands/review.js'),
  },
  evidence: {
    summary: "export a case's evidence report bundle (frames, hashes, matches, models, scores, stream metadata)",
    load: () => import('./cli/commands/evidence.js'),
  },
  bridge: {
    summary: "answer the ingest's publish hooks (nginx-rtmp, SRS, MediaMTX, generic) and announce streams on NATS",
    load: () => import('./cli/commands/bridge.js'),
  },
  enforcer: {
    summary: 'carry out kill-switches at the ingest: drop the publisher, deny its re-publish, audit',
    load: () => import('./cli/commands/enforcer.js'),
  },
  block: { summary: 'list or lift the blocks that deny re-publish', load: () => import('./cli/commands/block.js') },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `usage: streamscreen <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`streamscreen: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return (await command.load()).run(rest, processIO, { ...readEnv() });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // The message may quote a URL the command was given (NATS_URL with its password, a stream URL with its key).
    process.stderr.write(`streamscreen: ${redactUrlsInText(err instanceof Error ? err.message : String(err))}\n`);
    process.exitCode = 1;
  },
);
