import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KillSwitchEvent } from '../../src/contracts/index.js';
import { pdqToHex } from '../../src/domain/pdq.js';
import { createPdqHasher } from '../../src/hash/pdq-hasher.js';
import { readRgbImage } from '../../src/worker/sampler/image-file.js';
import { startLiveSource, type LiveSource } from '../support/live-source.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { eventually } from '../support/eventually.js';
import { collectEvents, samplerPids, type EventCollector } from '../support/jetstream-events.js';
import { ALLOW_LOOPBACK } from '../support/egress.js';

// Two real worker processes (the CLI, as deployed); the one screening a stream is SIGKILLed, so
// none of its shutdown code runs. The other must take the stream over within 10 s and screen it.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BRIDGE = fileURLToPath(new URL('../../../shared/pdq-vectors/decoded/bridge-1-original.png', import.meta.url));

interface WorkerProcess {
  readonly id: string;
  readonly child: ChildProcess;
  readonly started: Promise<void>;
  log(): string;
}

function spawnWorker(id: string, configFile: string, natsUrl: string): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'worker', '--config', configFile], {
    cwd: ROOT,
    env: { ...process.env, NATS_URL: natsUrl, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const started = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('"msg":"worker started"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker ${id} exited (${code}) before starting:\n${log}`)));
  });
  return { id, child, started, log: () => log };
}

describe('worker takeover', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let source: LiveSource;
  let kills: EventCollector<KillSwitchEvent>;
  let leases: KV;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await server.connect();
    source = await startLiveSource({ kind: 'hls', image: BRIDGE });
    const dir = mkdtempSync(join(tmpdir(), 'streamscreen-takeover-'));
    const list = join(dir, 'confirmed.txt');
    writeFileSync(list, `${pdqToHex(createPdqHasher().hash(await readRgbImage(BRIDGE)).hash)}\tbridge-case\n`);
    for (const id of ['worker-a', 'worker-b']) {
      const file = join(dir, `${id}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          // Fixed admission: test files run side by side, and measured admission reads the host's CPU.
          worker: { admission: 'fixed', id, shutdownGraceMs: 200 },
          hash: { lists: [{ id: 'confirmed', path: list }], objectStore: { enabled: false } },
          classify: { enabled: false },
          metrics: { enabled: false },
          sampler: { allowHosts: ALLOW_LOOPBACK },
          // The kill-switch cooldown is per screening run; keep it short so both runs publish.
          policy: { killSwitchCooldownMs: 1_000 },
        }),
      );
      workers.push(spawnWorker(id, file, server.url));
    }
    await Promise.all(workers.map((w) => w.started));
    leases = await new Kvm(nc).open('screening-leases');
    kills = await collectEvents<KillSwitchEvent>(nc, 'SCREENING_DECISIONS', 'screening.killswitch.>');
  }, 60_000);

  afterAll(async () => {
    await kills?.stop();
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await source?.stop();
    await nc?.close();
    await server?.stop();
  });

  it('hands a stream to the surviving worker within 10 s of the screening worker being SIGKILLed', async () => {
    await jetstream(nc).publish('streams.started.takeover-1', JSON.stringify({ streamId: 'takeover-1', url: source.url }));
    const holder = await eventually(
      async () => {
        const e = await leases.get('takeover-1');
        return e?.operation === 'PUT' ? e.json<{ workerId: string }>().workerId : undefined;
      },
      15_000,
      'a lease on takeover-1',
    );
    const first = await kills.waitFor((e) => e.streamId === 'takeover-1' && e.workerId === holder, 30_000);
    expect(first.match!.list).toBe('confirmed');

    // A configured worker id is a prefix; each process appends its own suffix.
    const victim = workers.find((w) => holder.startsWith(`${w.id}-`))!;
    const survivor = workers.find((w) => w !== victim)!;
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');

    await eventually(
      async () => {
        const e = await leases.get('takeover-1');
        return e?.operation === 'PUT' && e.json<{ workerId: string }>().workerId.startsWith(`${survivor.id}-`) ? true : undefined;
      },
      12_000,
      `lease taken over by ${survivor.id}`,
    );
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(10_000);

    // The survivor really screens: a kill-switch of its own, and only its sampler is left.
    const second = await kills.waitFor((e) => e.streamId === 'takeover-1' && e.workerId.startsWith(`${survivor.id}-`), 20_000);
    expect(Date.parse(second.decidedAt)).toBeGreaterThan(killedAt);
    await eventually(() => (samplerPids(source.url).length === 1 ? true : undefined), 5_000, "the killed worker's ffmpeg to be gone");
    console.log(
      `takeover after SIGKILL: lease moved in ${takeoverMs} ms; new kill-switch ${Date.parse(second.decidedAt) - killedAt} ms after the kill`,
    );
  }, 90_000);
});
