/**
 * What the fault suite (test/faults/) and `npm run bench:faults` share: worker processes started
 * as deployed (`node dist/src/cli.js worker`), their JSON logs read for what they decided, the
 * decisions stream read for what was stored, and the tallies a fault is judged by.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { pdqToHex } from '../../src/domain/pdq.js';
import { createPdqHasher } from '../../src/hash/pdq-hasher.js';
import { readRgbImage } from '../../src/worker/sampler/image-file.js';
import { ALLOW_LOOPBACK } from './egress.js';
import { eventually } from './eventually.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** A benign picture whose hash the test list holds (../shared/pdq-vectors). */
export const LISTED_IMAGE = fileURLToPath(new URL('../../../shared/pdq-vectors/decoded/bridge-1-original.png', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli.js');

/** A working directory with a kill list holding LISTED_IMAGE's hash. */
export async function faultDir(prefix: string): Promise<{ dir: string; list: string }> {
  const dir = mkdtempSync(join(tmpdir(), `streamscreen-${prefix}-`));
  const list = join(dir, 'confirmed.txt');
  writeFileSync(list, `${pdqToHex(createPdqHasher().hash(await readRgbImage(LISTED_IMAGE)).hash)}\tbridge-case\n`);
  return { dir, list };
}

/** One line of a worker's pino log. */
export interface LogLine {
  readonly msg: string;
  readonly time: number;
  readonly [key: string]: unknown;
}

/** A decision as its worker recorded it (the outbox's `decision recorded` line). */
export interface Recorded {
  readonly eventId: string;
  readonly type: string;
  readonly subject: string;
  readonly at: number;
  readonly worker: string;
}

export interface WorkerProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly outboxDir: string;
  /** Resolves on `worker started`; rejects if it exits first. */
  readonly started: Promise<void>;
  /** Exit code/signal and when, once it has exited. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly at: number }>;
  readonly lines: readonly LogLine[];
  recorded(): Recorded[];
  /** Its /metrics text (started with metrics on: config `metrics: { enabled: true, port: 0 }`). */
  metrics(): Promise<string>;
  /** Its /readyz answer. */
  readiness(): Promise<{ readonly ready: boolean; readonly reasons: string[] }>;
  alive(): boolean;
  kill(signal: NodeJS.Signals): void;
  log(): string;
}

export interface WorkerSpec {
  readonly name: string;
  readonly natsUrl: string;
  readonly dir: string;
  readonly list: string;
  /** Default: `<dir>/outbox-<name>`; give the same one to a restarted worker. */
  readonly outboxDir?: string;
  /** Merged over the suite's defaults (short cooldown, 2 fps, no classifiers). */
  readonly config?: Record<string, unknown>;
}

/** The fault suite's worker: hash matching only (starts in a second), 2 frames/s, a 1 s kill-switch cooldown. */
export function faultConfig(spec: WorkerSpec, outboxDir: string): Record<string, unknown> {
  return deepMerge(
    {
      // Fixed admission: test files run side by side, and measured admission reads the host's CPU.
      worker: { admission: 'fixed', id: spec.name, maxStreams: 8, shutdownGraceMs: 0, shutdownTimeoutMs: 5_000 },
      hash: { lists: [{ id: 'confirmed', path: spec.list }], objectStore: { enabled: false } },
      classify: { enabled: false },
      metrics: { enabled: false },
      // The test sources are on loopback, which the source policy refuses unless allow-listed.
      sampler: { fps: 2, allowHosts: ALLOW_LOOPBACK },
      policy: { killSwitchCooldownMs: 1_000 },
      outbox: { dir: outboxDir },
    },
    spec.config ?? {},
  );
}

export function spawnWorker(spec: WorkerSpec): WorkerProcess {
  const outboxDir = spec.outboxDir ?? join(spec.dir, `outbox-${spec.name}`);
  const file = join(spec.dir, `${spec.name}-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(faultConfig(spec, outboxDir)));
  const child = spawn(process.execPath, [CLI, 'worker', '--config', file], {
    cwd: ROOT,
    env: { ...process.env, NATS_URL: spec.natsUrl, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: LogLine[] = [];
  let text = '';
  let partial = '';
  let onLine: ((l: LogLine) => void) | undefined;
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (text.length < 2_000_000) text += d;
    const parts = (partial + d).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) {
      try {
        const l = JSON.parse(p) as LogLine;
        lines.push(l);
        onLine?.(l);
      } catch {
        // not JSON (a crash trace): kept in text
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const started = new Promise<void>((resolve, reject) => {
    onLine = (l) => {
      if (l.msg === 'worker started') resolve();
    };
    void exited.then(({ code, signal }) =>
      reject(new Error(`worker ${spec.name} exited (${signal ?? code}) before starting:\n${text.slice(-4000)}`)),
    );
  });
  started.catch(() => undefined);
  const metricsPort = (): number => {
    const line = lines.find((l) => l.msg === 'metrics at /metrics, /healthz, /readyz');
    if (!line) throw new Error(`worker ${spec.name} serves no metrics (start it with metrics enabled)`);
    return Number(line.port);
  };
  return {
    name: spec.name,
    child,
    outboxDir,
    started,
    exited,
    lines,
    recorded: () =>
      lines
        .filter((l) => l.msg === 'decision recorded')
        .map((l) => ({ eventId: String(l.eventId), type: String(l.type), subject: String(l.subject), at: l.time, worker: spec.name })),
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort()}/metrics`)).text(),
    readiness: async () =>
      (await fetch(`http://127.0.0.1:${metricsPort()}/readyz`)).json() as Promise<{ ready: boolean; reasons: string[] }>,
    alive: () => child.exitCode === null && child.signalCode === null,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    log: () => text,
  };
}

/**
 * Publishes a stream event the way the platform's bridge would: retried (same Nats-Msg-Id, so
 * stored once) until JetStream acks it, since a fault may be under way.
 */
export async function announce(
  nc: NatsConnection,
  kind: 'started' | 'ended',
  streamId: string,
  body: Record<string, unknown> = {},
): Promise<void> {
  const msgID = randomUUID();
  const js = jetstream(nc, { timeout: 2000 });
  await eventually(
    () =>
      js.publish(`streams.${kind}.${streamId}`, JSON.stringify({ streamId, ...body }), { msgID }).then(
        () => true,
        () => undefined,
      ),
    30_000,
    `streams.${kind}.${streamId} to be stored`,
    200,
  );
}

/** The value of one series in a /metrics text (0 when absent). */
export function metricValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** A decision as JetStream stored it. */
export interface Stored {
  readonly eventId: string;
  readonly type: string;
  readonly streamId: string;
  readonly decidedAt: number;
  readonly workerId: string;
  /** When the server stored it. */
  readonly storedAt: number;
  readonly seq: number;
}

/** Everything on the decisions stream, in stream order. */
export async function storedDecisions(nc: NatsConnection, stream = 'SCREENING_DECISIONS'): Promise<Stored[]> {
  const jsm = await jetstreamManager(nc, { timeout: 2000, checkAPI: false });
  const { first_seq, last_seq, messages } = (await jsm.streams.info(stream)).state;
  const out: Stored[] = [];
  if (messages === 0) return out;
  for (let seq = first_seq; seq <= last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!m) continue;
    const e = m.json<{ eventId: string; type: string; streamId: string; decidedAt?: string; at?: string; workerId: string }>();
    out.push({
      eventId: e.eventId,
      type: e.type,
      streamId: e.streamId,
      decidedAt: Date.parse(e.decidedAt ?? e.at ?? ''),
      workerId: e.workerId,
      storedAt: m.time.getTime(),
      seq: m.seq,
    });
  }
  return out;
}

/**
 * Everything the worker's outbox publishes: decisions, and the case events (stored in the cases
 * stream, which exists once a case was opened).
 */
async function storedEverywhere(nc: NatsConnection): Promise<Stored[]> {
  const cases = await storedDecisions(nc, 'SCREENING_CASES').catch(() => [] as Stored[]);
  return [...(await storedDecisions(nc)), ...cases];
}

/** Expected (recorded by the workers) against stored: the numbers every fault is judged by. */
export interface Tally {
  readonly expected: number;
  readonly stored: number;
  readonly duplicated: number;
  readonly missing: readonly string[];
}

export function tally(recorded: readonly Recorded[], stored: readonly Stored[]): Tally {
  const expected = new Set(recorded.map((r) => r.eventId));
  const counts = new Map<string, number>();
  for (const s of stored) if (expected.has(s.eventId)) counts.set(s.eventId, (counts.get(s.eventId) ?? 0) + 1);
  return {
    expected: expected.size,
    stored: counts.size,
    duplicated: [...counts.values()].reduce((n, c) => n + c - 1, 0),
    missing: [...expected].filter((id) => !counts.has(id)),
  };
}

/** Waits until every decision recorded so far is stored; returns the stored list. */
export async function allStored(nc: NatsConnection, recorded: () => readonly Recorded[], timeoutMs: number): Promise<Stored[]> {
  return eventually(
    async () => {
      const stored = await storedEverywhere(nc).catch(() => undefined);
      return stored && tally(recorded(), stored).missing.length === 0 ? stored : undefined;
    },
    timeoutMs,
    'every recorded decision to be stored',
    200,
  );
}

/**
 * The longest wait between consecutive kill-switches of a stream in [from, to]: with the listed
 * picture on screen it gets one per cooldown, so a gap much longer than that is screening that
 * stopped.
 */
export function longestGap(decidedAt: readonly number[], from: number, to: number): number {
  const times = [from, ...decidedAt.filter((t) => t > from && t < to).sort((a, b) => a - b), to];
  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i]! - times[i - 1]!);
  return longest;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] =
      typeof v === 'object' && v !== null && !Array.isArray(v) && typeof cur === 'object' && cur !== null && !Array.isArray(cur)
        ? deepMerge(cur as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
