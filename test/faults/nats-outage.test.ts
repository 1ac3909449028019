import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { samplerPids } from '../support/jetstream-events.js';
import { startLiveSource, type LiveSource } from '../support/live-source.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import {
  allStored,
  announce,
  faultDir,
  LISTED_IMAGE,
  longestGap,
  metricValue,
  spawnWorker,
  storedDecisions,
  tally,
  type Recorded,
  type WorkerProcess,
} from '../support/fault-rig.js';

// nats-server itself goes away (SIGKILL, same store) while real worker processes screen streams
// that show a listed picture the whole time: one kill-switch per 1 s cooldown is due throughout.
// Every decision a worker records (its log) must be stored exactly once (by event id), decisions
// must go on being made during the outage, and the outbox must be drained soon after NATS is back.

const COOLDOWN_MS = 1_000;

describe('NATS outages under real worker processes', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let source: LiveSource;
  let dir: string;
  let list: string;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    ({ dir, list } = await faultDir('outage'));
    server = await startNatsServer();
    // Reconnecting for as long as the outages last (the client's default gives up after ~20 s).
    nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    source = await startLiveSource({ kind: 'hls', image: LISTED_IMAGE });
  }, 60_000);
  afterEach(async () => {
    for (const w of workers.splice(0)) {
      w.kill('SIGKILL');
      await w.exited;
    }
  });
  afterAll(async () => {
    await source?.stop();
    await nc?.close();
    await server?.stop();
  });

  const worker = async (name: string, outboxDir?: string): Promise<WorkerProcess> => {
    const w = spawnWorker({
      name,
      natsUrl: server.url,
      dir,
      list,
      config: { metrics: { enabled: true, host: '127.0.0.1', port: 0 } },
      ...(outboxDir ? { outboxDir } : {}),
    });
    workers.push(w);
    await w.started;
    return w;
  };
  const start = (streamId: string) => announce(nc, 'started', streamId, { url: source.url });
  const end = (streamId: string) => announce(nc, 'ended', streamId);
  const kills = (recorded: readonly Recorded[], streamId: string): Recorded[] =>
    recorded.filter((r) => r.type === 'killswitch' && r.subject === `screening.killswitch.${streamId}`);
  const firstStored = (streamId: string) =>
    eventually(
      async () => (await storedDecisions(nc).catch(() => [])).find((d) => d.streamId === streamId && d.type === 'killswitch'),
      25_000,
      `a kill-switch for ${streamId}`,
      200,
    );

  /** Restarts NATS after `downMs` with the streams being screened, and judges the result. */
  async function outage(name: string, streamIds: string[], downMs: number): Promise<void> {
    const w = await worker(name);
    for (const id of streamIds) await start(id);
    await Promise.all(streamIds.map((id) => firstStored(id)));
    const downAt = Date.now();
    const restarted = server.restart(downMs);
    // While NATS is away the worker says so: not ready, disconnected, decisions waiting in its outbox.
    const away = await eventually(
      async () => {
        const m = await w.metrics();
        return metricValue(m, 'streamscreen_nats_connected') === 0 && metricValue(m, 'streamscreen_outbox_depth') > 0 ? m : undefined;
      },
      downMs,
      'the outage to show in the metrics',
      100,
    ).catch(() => undefined);
    const readyAway = await w.readiness();
    await restarted;
    const upAt = Date.now();
    // Screening after the restart, then the streams end.
    await eventually(
      () => streamIds.every((id) => kills(w.recorded(), id).some((r) => r.at > upAt + 2 * COOLDOWN_MS)),
      15_000,
      'decisions after the restart',
      100,
    );
    const endAt = Date.now();
    for (const id of streamIds) await end(id);
    const stored = await allStored(nc, () => w.recorded(), 15_000);

    const t = tally(w.recorded(), stored);
    const during = w.recorded().filter((r) => r.at >= downAt && r.at <= upAt);
    const byId = new Map(stored.map((s) => [s.eventId, s]));
    const recoveryMs = during.length === 0 ? 0 : Math.max(...during.map((r) => byId.get(r.eventId)!.storedAt - upAt));
    const gaps = streamIds.map((id) =>
      longestGap(
        kills(w.recorded(), id).map((r) => r.at),
        downAt,
        endAt,
      ),
    );
    console.log(
      `fault nats down ${downMs} ms, ${streamIds.length} stream(s): expected ${t.expected}, stored ${t.stored}, duplicated ${t.duplicated}; ` +
        `${during.length} decided during the outage${during.length ? `, all stored ${recoveryMs} ms after NATS was back` : ''}; longest gap between kill-switches ${Math.max(...gaps)} ms`,
    );
    expect(t.missing).toEqual([]);
    expect(t.duplicated).toBe(0);
    // Screening went on while NATS was away: kill-switches kept being decided for every stream,
    // about one per cooldown. A loaded machine stretches that by a few seconds; the worker that
    // gave streams up at an outage left a gap of the outage plus 5-7 s.
    expect(Math.max(...gaps)).toBeLessThan(COOLDOWN_MS + 5_000);
    if (downMs >= 5_000) for (const id of streamIds) expect(kills(during, id).length, id).toBeGreaterThanOrEqual(1);
    // What was decided meanwhile reached JetStream soon after it came back (reconnect wakes the outbox).
    expect(recoveryMs).toBeLessThan(5_000);
    if (downMs >= 5_000) {
      expect(away, 'metrics during the outage').toBeDefined();
      expect(readyAway.ready).toBe(false);
      expect(readyAway.reasons).toContain('nats: disconnected');
    }
    const back = await eventually(
      async () => {
        const m = await w.metrics();
        return metricValue(m, 'streamscreen_nats_connected') === 1 && metricValue(m, 'streamscreen_outbox_depth') === 0 ? m : undefined;
      },
      10_000,
      'the metrics to show NATS back and the outbox empty',
      100,
    );
    expect(metricValue(back, 'streamscreen_outbox_events_total{event="published"}')).toBe(
      metricValue(back, 'streamscreen_outbox_events_total{event="recorded"}'),
    );
    // The worker never gave a stream up.
    expect(w.lines.filter((l) => l.msg.includes('lease lost'))).toEqual([]);
  }

  it('NATS down 2 s during one stream: nothing lost, nothing twice, screening goes on', async () => {
    await outage('w-2s', ['outage-2s'], 2_000);
  }, 90_000);

  it('NATS down ~8 s (longer than the lease TTL) during three streams: nothing lost, leases created again', async () => {
    await outage('w-8s', ['outage-8s-a', 'outage-8s-b', 'outage-8s-c'], 8_000);
  }, 90_000);

  it('NATS down and the worker SIGKILLed: the worker started after it publishes what the dead one recorded', async () => {
    const a = await worker('w-doomed');
    await start('outage-kill');
    await firstStored('outage-kill');
    const downAt = Date.now();
    await server.kill();
    await eventually(
      () => kills(a.recorded(), 'outage-kill').filter((r) => r.at > downAt).length >= 2,
      10_000,
      'decisions while NATS is down',
      100,
    );
    a.kill('SIGKILL');
    await a.exited;
    const stranded = a.recorded().filter((r) => r.at > downAt);
    expect((await storedDecisions(nc).catch(() => [])).length).toBe(0); // NATS is still down
    await server.restart();
    const upAt = Date.now();
    const b = await worker('w-after', a.outboxDir);
    const stored = await allStored(nc, () => [...a.recorded(), ...b.recorded()], 20_000);
    const t = tally(a.recorded(), stored);
    const byId = new Map(stored.map((s) => [s.eventId, s]));
    const replayMs = Math.max(...stranded.map((r) => byId.get(r.eventId)!.storedAt - upAt));
    console.log(
      `fault nats down + worker SIGKILL: expected ${t.expected}, stored ${t.stored}, duplicated ${t.duplicated}; ` +
        `${stranded.length} stranded in the outbox, stored ${replayMs} ms after NATS was back (new worker started meanwhile)`,
    );
    expect(t.missing).toEqual([]);
    expect(t.duplicated).toBe(0);
    expect(b.lines.some((l) => l.msg === 'replayed decision published')).toBe(true);
    await end('outage-kill');
  }, 90_000);

  it('SIGTERM with NATS down: exits within worker.shutdownTimeoutMs, keeps its decisions, leaves no ffmpeg', async () => {
    const w = await worker('w-sigterm');
    await start('outage-term');
    await firstStored('outage-term');
    await server.kill();
    await eventually(() => samplerPids(source.url).length > 0 || undefined, 5_000, 'a sampler');
    await new Promise((r) => setTimeout(r, 1_500));
    const termAt = Date.now();
    w.kill('SIGTERM');
    const { at, code } = await w.exited;
    console.log(`fault SIGTERM with NATS down: exited ${at - termAt} ms after the signal (deadline 5000 ms), code ${code}`);
    expect(at - termAt).toBeLessThan(5_000 + 1_500);
    await eventually(() => samplerPids(source.url).length === 0 || undefined, 3_000, 'no ffmpeg left');
    await server.restart();
    // What it could not publish is still there for the next worker.
    const next = await worker('w-sigterm-next', w.outboxDir);
    const stored = await allStored(nc, () => [...w.recorded(), ...next.recorded()], 20_000);
    expect(tally(w.recorded(), stored)).toMatchObject({ missing: [], duplicated: 0 });
    await end('outage-term');
  }, 90_000);
});
