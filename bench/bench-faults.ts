/**
 * Fault benchmark: the NATS outages of issue 8 at full length, on real processes. For each
 * scenario a worker (the dist CLI) screens N streams that show a listed picture the whole time
 * (one kill-switch due per 1 s cooldown per stream); nats-server is SIGKILLed and started again
 * on the same store after the outage. Printed per scenario:
 *
 * - expected (decisions the worker recorded), stored (distinct event ids on the decisions
 *   stream), duplicated (stored more than once), missing;
 * - decided during the outage, and their rate against the rate in the same run's 10 s before the
 *   outage (the baseline: 1.0 means screening did not slow down while NATS was away);
 * - recovery: how long after NATS was back the last decision made during the outage was stored,
 *   and the longest gap between a stream's kill-switches across the outage.
 *
 * The fault suite (test/faults/) runs the short variants in npm test; these are the long ones.
 * Writes bench-results/faults.json. Usage: npm run bench:faults [-- --only 2s,60s-8]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  allStored,
  announce,
  faultDir,
  LISTED_IMAGE,
  longestGap,
  ROOT,
  spawnWorker,
  tally,
  type Recorded,
} from '../test/support/fault-rig.js';
import { startLiveSource } from '../test/support/live-source.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { connect } from '@nats-io/transport-node';

interface Scenario {
  readonly name: string;
  readonly streams: number;
  readonly downMs: number;
}

const SCENARIOS: Scenario[] = [
  { name: '2s', streams: 1, downMs: 2_000 },
  { name: '20s', streams: 1, downMs: 20_000 },
  { name: '60s', streams: 1, downMs: 60_000 },
  { name: '60s-8', streams: 8, downMs: 60_000 },
];
const BASELINE_MS = 10_000;
const AFTER_MS = 10_000;

interface Result {
  readonly scenario: string;
  readonly streams: number;
  readonly downMs: number;
  readonly expected: number;
  readonly stored: number;
  readonly duplicated: number;
  readonly missing: number;
  readonly decidedDuringOutage: number;
  readonly rateDuringVsBefore: number;
  readonly recoveryMs: number;
  readonly longestGapMs: number;
}

async function run(s: Scenario): Promise<Result> {
  const { dir, list } = await faultDir(`bench-${s.name}`);
  const server = await startNatsServer();
  // The bench's own client must outlive a 60 s outage too (the client's default gives up after ~20 s).
  const nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  const source = await startLiveSource({ kind: 'hls', image: LISTED_IMAGE });
  const worker = spawnWorker({ name: `bench-${s.name}`, natsUrl: server.url, dir, list, config: { worker: { maxStreams: s.streams } } });
  try {
    await worker.started;
    const ids = Array.from({ length: s.streams }, (_, i) => `bench-${s.name}-${i}`);
    for (const id of ids) await announce(nc, 'started', id, { url: source.url });
    const kills = (id: string): Recorded[] => worker.recorded().filter((r) => r.subject === `screening.killswitch.${id}`);
    // Every stream screening, then the baseline window.
    while (!ids.every((id) => kills(id).length > 0)) await sleep(200);
    const baseFrom = Date.now();
    await sleep(BASELINE_MS);
    const downAt = Date.now();
    await server.restart(s.downMs);
    const upAt = Date.now();
    await sleep(AFTER_MS);
    const endAt = Date.now();
    for (const id of ids) await announce(nc, 'ended', id);
    const stored = await allStored(nc, () => worker.recorded(), 60_000).catch(() => []);
    const t = tally(worker.recorded(), stored);
    const all = worker.recorded();
    const before = all.filter((r) => r.at >= baseFrom && r.at < downAt).length / BASELINE_MS;
    const during = all.filter((r) => r.at >= downAt && r.at <= upAt);
    const byId = new Map(stored.map((d) => [d.eventId, d]));
    const recoveryMs = Math.max(0, ...during.map((r) => (byId.get(r.eventId)?.storedAt ?? Number.NaN) - upAt));
    return {
      scenario: s.name,
      streams: s.streams,
      downMs: upAt - downAt,
      expected: t.expected,
      stored: t.stored,
      duplicated: t.duplicated,
      missing: t.missing.length,
      decidedDuringOutage: during.length,
      rateDuringVsBefore: during.length / (upAt - downAt) / before,
      recoveryMs,
      longestGapMs: Math.max(
        ...ids.map((id) =>
          longestGap(
            kills(id).map((r) => r.at),
            downAt,
            endAt,
          ),
        ),
      ),
    };
  } finally {
    worker.kill('SIGKILL');
    await worker.exited;
    await source.stop();
    await nc.close();
    await server.stop();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const only = values.only?.split(',');
const results: Result[] = [];
console.log(`fault benchmark on ${cpus().length} cores, load ${loadavg()[0]!.toFixed(1)}; worker cooldown 1 s, 2 frames/s`);
for (const s of SCENARIOS.filter((x) => !only || only.includes(x.name))) {
  const r = await run(s);
  results.push(r);
  console.log(
    `${r.scenario.padEnd(6)} ${r.streams} stream(s), NATS down ${(r.downMs / 1000).toFixed(1)} s: expected ${r.expected}, stored ${r.stored}, ` +
      `duplicated ${r.duplicated}, missing ${r.missing}; ${r.decidedDuringOutage} decided during the outage ` +
      `(rate ${r.rateDuringVsBefore.toFixed(2)}x the rate before it); all stored ${r.recoveryMs} ms after NATS was back; ` +
      `longest gap between a stream's kill-switches ${r.longestGapMs} ms`,
  );
}
await mkdir(join(ROOT, 'bench-results'), { recursive: true });
await writeFile(
  join(ROOT, 'bench-results', 'faults.json'),
  `${JSON.stringify({ at: new Date().toISOString(), load: loadavg(), results }, null, 2)}\n`,
);
process.exit(results.every((r) => r.missing === 0 && r.duplicated === 0) ? 0 : 1);
