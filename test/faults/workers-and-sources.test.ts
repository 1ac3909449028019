import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import {
  allStored,
  announce,
  faultDir,
  LISTED_IMAGE,
  spawnWorker,
  storedDecisions,
  tally,
  type Recorded,
  type WorkerProcess,
} from '../support/fault-rig.js';
import { samplerPids } from '../support/jetstream-events.js';
import { startLiveSource, type LiveSource } from '../support/live-source.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

// Workers and their sources fail, NATS stays up: a worker SIGKILLed or stopped mid-stream, its
// ffmpeg killed or frozen, the broadcaster gone for longer than the sampler's retries. Real
// worker processes (the CLI), real ffmpeg; a listed picture on screen the whole time.

describe('worker and source faults', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let steady: LiveSource;
  let dir: string;
  let list: string;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    ({ dir, list } = await faultDir('workers'));
    server = await startNatsServer();
    nc = await server.connect();
    steady = await startLiveSource({ kind: 'hls', image: LISTED_IMAGE });
  }, 60_000);
  afterEach(async (ctx) => {
    for (const w of workers.splice(0)) {
      if (ctx.task.result?.state === 'fail') console.log(`--- ${w.name} log (tail)\n${w.log().slice(-6000)}`);
      w.kill('SIGKILL');
      await w.exited;
    }
    // Their ffmpeg goes with them (the lifeline); the next test counts samplers of the same source.
    await eventually(() => samplerPids(steady.url).length === 0 || undefined, 10_000, 'no ffmpeg left from this test');
  });
  afterAll(async () => {
    await steady?.stop();
    await nc?.close();
    await server?.stop();
  });

  // Workers on one host share the outbox directory (a slot each), as two replicas on one machine
  // would: a surviving worker publishes what a SIGKILLed one had recorded but not yet published.
  const worker = async (name: string, config: Record<string, unknown> = {}): Promise<WorkerProcess> => {
    const w = spawnWorker({ name, natsUrl: server.url, dir, list, config, outboxDir: join(dir, 'outbox') });
    workers.push(w);
    await w.started;
    return w;
  };
  const start = (streamId: string, url: string) => announce(nc, 'started', streamId, { url });
  const end = (streamId: string) => announce(nc, 'ended', streamId);
  const kills = (w: WorkerProcess, streamId: string, after = 0): Recorded[] =>
    w.recorded().filter((r) => r.subject === `screening.killswitch.${streamId}` && r.at > after);
  const holds = (w: WorkerProcess, streamId: string): boolean =>
    w.lines.some((l) => l.msg === 'screening stream' && l.streamId === streamId);

  it('two workers, the holder SIGKILLed: the other takes the stream over within 10 s; no decision lost or doubled', async () => {
    const a = await worker('w-pair-a');
    const b = await worker('w-pair-b');
    await start('pair-kill', steady.url);
    const holder = await eventually(() => [a, b].find((w) => kills(w, 'pair-kill').length > 0), 25_000, 'a first kill-switch', 100);
    const other = holder === a ? b : a;
    const killedAt = Date.now();
    holder.kill('SIGKILL');
    await eventually(() => holds(other, 'pair-kill') || undefined, 12_000, 'takeover', 50);
    const takenAt = Date.now();
    const next = await eventually(() => kills(other, 'pair-kill')[0], 15_000, 'a kill-switch from the new holder', 100);
    await end('pair-kill');
    const stored = await allStored(nc, () => [...a.recorded(), ...b.recorded()], 15_000);
    const t = tally([...a.recorded(), ...b.recorded()], stored);
    const adopted = other.lines.filter((l) => l.msg === 'decision left by a process that died: publishing it').length;
    console.log(
      `fault worker SIGKILL (two workers): takeover ${takenAt - killedAt} ms, next kill-switch ${next.at - killedAt} ms after the kill; ` +
        `expected ${t.expected}, stored ${t.stored}, duplicated ${t.duplicated} (${adopted} left in the dead worker's outbox, published by the survivor)`,
    );
    expect(takenAt - killedAt).toBeLessThan(10_000);
    expect(t).toMatchObject({ missing: [], duplicated: 0 });
    await eventually(() => samplerPids(steady.url).length === 0 || undefined, 10_000, "the streams' samplers to stop");
  }, 90_000);

  it('SIGTERM right after a kill-switch: the next holder takes over at once and honours the cooldown its predecessor started', async () => {
    const cooldown = { policy: { killSwitchCooldownMs: 6_000 } };
    const a = await worker('w-term-a', cooldown);
    await start('pair-term', steady.url);
    const last = await eventually(() => kills(a, 'pair-term')[0], 25_000, 'a kill-switch', 50);
    const b = await worker('w-term-b', cooldown);
    const termAt = Date.now();
    a.kill('SIGTERM');
    await a.exited;
    await eventually(() => holds(b, 'pair-term') || undefined, 5_000, 'takeover', 50);
    const takenAt = Date.now();
    const next = await eventually(() => kills(b, 'pair-term')[0], 20_000, 'the next kill-switch', 100);
    console.log(
      `fault SIGTERM after a kill-switch: takeover ${takenAt - termAt} ms; the next holder's first kill-switch ${next.at - last.at} ms after the last one (cooldown 6000 ms)`,
    );
    expect(takenAt - termAt).toBeLessThan(5_000);
    expect(next.at - last.at).toBeGreaterThanOrEqual(6_000);
    await end('pair-term');
  }, 90_000);

  it("ffmpeg SIGKILLed, then frozen: the worker's sampler restarts it and screening resumes; none is left behind", async () => {
    const w = await worker('w-ffmpeg', { sampler: { stallTimeoutMs: 2_000 } });
    await start('ffmpeg-faults', steady.url);
    await eventually(() => kills(w, 'ffmpeg-faults')[0], 25_000, 'a kill-switch', 100);

    const pids = samplerPids(steady.url);
    expect(pids).toHaveLength(1);
    const [pid] = pids;
    const killedAt = Date.now();
    process.kill(pid!, 'SIGKILL');
    const afterKill = await eventually(() => kills(w, 'ffmpeg-faults', killedAt)[0], 25_000, 'decisions after the kill', 50);

    const [frozen] = samplerPids(steady.url);
    expect(frozen).not.toBe(pid);
    const frozenAt = Date.now();
    process.kill(frozen!, 'SIGSTOP');
    const afterStall = await eventually(() => kills(w, 'ffmpeg-faults', frozenAt + 500)[0], 20_000, 'decisions after the stall', 50);
    console.log(
      `fault ffmpeg SIGKILL: next decision ${afterKill.at - killedAt} ms later; ffmpeg stalled (SIGSTOP, stall timeout 2000 ms): next decision ${afterStall.at - frozenAt} ms later`,
    );
    expect(samplerPids(steady.url)).not.toContain(frozen);
    await end('ffmpeg-faults');
    await eventually(() => samplerPids(steady.url).length === 0 || undefined, 10_000, 'no ffmpeg left');
    expect(tally(w.recorded(), await allStored(nc, () => w.recorded(), 10_000))).toMatchObject({ missing: [], duplicated: 0 });
  }, 90_000);

  it('the broadcaster gone longer than the sampler retries: failure reported, the stream kept, screened again when it returns', async () => {
    const flaky = await startLiveSource({ kind: 'hls', image: LISTED_IMAGE });
    try {
      const w = await worker('w-source', {
        sampler: { maxRestarts: 1, backoffBaseMs: 200, backoffMaxMs: 400, rwTimeoutMs: 1_000, stallTimeoutMs: 2_000 },
        ingest: { sourceProbeBaseMs: 1_000, sourceProbeMaxMs: 2_000 },
      });
      await start('source-drop', flaky.url);
      await eventually(() => kills(w, 'source-drop')[0], 25_000, 'a kill-switch', 100);
      const goneAt = Date.now();
      const outage = flaky.outage(8_000);
      const failure = await eventually(
        async () =>
          (await storedDecisions(nc).catch(() => [])).find(
            (d) => d.streamId === 'source-drop' && d.type === 'failure' && d.storedAt > goneAt,
          ),
        10_000,
        'a screening.failure',
        200,
      );
      await outage;
      const backAt = Date.now();
      const resumed = await eventually(
        () => kills(w, 'source-drop', backAt)[0],
        20_000,
        'screened again after the broadcaster returned',
        100,
      );
      const probes = w.lines.filter((l) => l.msg === 'source gone: the stream stays assigned and is probed again').length;
      console.log(
        `fault source gone 8 s: screening.failure ${failure.storedAt - goneAt} ms after it went, ${probes} probes, ` +
          `screened again ${resumed.at - backAt} ms after it came back (same stream, same start)`,
      );
      expect(w.lines.filter((l) => l.msg === 'screening stream' && l.streamId === 'source-drop')).toHaveLength(1);
      expect(probes).toBeGreaterThanOrEqual(1);
      await end('source-drop');
      await eventually(() => samplerPids(flaky.url).length === 0 || undefined, 10_000, 'no ffmpeg left');
    } finally {
      await flaky.stop();
    }
  }, 90_000);
});
