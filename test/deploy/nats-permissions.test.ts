/**
 * deploy/nats/streamscreen.conf on a real nats-server: every role can do its job with the
 * project's own code (the worker provisions, pulls a start the bridge published, holds its lease,
 * publishes a kill-switch and reads the hash list the list publisher wrote; the enforcer and the
 * console read decisions through their durable consumers) without one permission violation in the
 * server's log, and no role can do what belongs to another: only the worker publishes
 * kill-switches, only the bridge starts or ends a stream, only the list publisher writes the
 * hash-list bucket, and nobody reads another role's inbox. Denials are checked where they count:
 * in what the streams hold afterwards, for core publishes (which JetStream would store just the
 * same) as well as JetStream ones.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, AckPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Objm } from '@nats-io/obj';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { connectNats } from '../../src/nats/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KillSwitchEvent } from '../../src/contracts/index.js';
import type { ScreeningOutcome } from '../../src/domain/screening-outcome.js';
import { createHashMatcher } from '../../src/hash/hash-matcher.js';
import { downloadHashList, openHashListBucket, publishHashList } from '../../src/hash/object-store-lists.js';
import { createHashListSync } from '../../src/hash/object-store-sync.js';
import { createQuarantineGate, quarantineEvent, releaseRecord } from '../../src/hash/quarantine.js';
import { createKvQuarantineStore, openQuarantineBucket } from '../../src/hash/quarantine-kv.js';
import { createIngest, type ScreeningAssignment } from '../../src/worker/intake/index.js';
import { killSwitchEventId } from '../../src/domain/event-id.js';
import { createDecisionPublisher } from '../../src/worker/publish/index.js';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';
import { hashListSyncOptions, ingestOptions, matcherOptions, publisherOptions } from '../support/stage-options.js';
import { copyNatsConfig, NATS_DEPLOY_DIR, natsEnv, rolePassword, ROLES, storeDir, type Role } from './nats-config.js';

const CONF = join(NATS_DEPLOY_DIR, 'streamscreen.conf');
const password = rolePassword;
const silent = pino({ level: 'silent' });
const enc = new TextEncoder();

let server: ChildProcess;
let url: string;
let log = '';
const conns = new Map<Role, NatsConnection>();

const resolveConfigFile = (overrides: Record<string, unknown>) => loadConfig({ env: {}, cwd: '/nonexistent-dir', overrides });

/** As a deployment connects: the role's login and inbox prefix in the config, through the NATS kit. */
async function connectAs(role: Role): Promise<NatsConnection> {
  const { nats } = resolveConfigFile({
    nats: { url, user: role, pass: password(role), inboxPrefix: `_INBOX_${role}`, connectTimeoutMs: 3000 },
  });
  return connectNats(nats, silent, { reconnect: false });
}
const as = (role: Role): NatsConnection => conns.get(role)!;

beforeAll(async () => {
  const port = await freePort();
  url = `nats://127.0.0.1:${port}`;
  // Only the JetStream store moves to a temp dir (nats-server refuses -sd next to a store_dir).
  const conf = copyNatsConfig('streamscreen.conf', [[/^(\s*store_dir:\s*).*$/m, `$1"${storeDir()}"`]]);
  server = spawn(process.env.NATS_SERVER_BIN ?? 'nats-server', ['-c', conf, '-a', '127.0.0.1', '-p', String(port)], {
    env: natsEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  server.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  await eventually(
    async () =>
      await connectAs('worker')
        .then((nc) => nc.close().then(() => true))
        .catch(() => undefined),
    10_000,
    'nats-server up',
  );
  for (const r of ROLES) conns.set(r, await connectAs(r));
}, 20_000);

afterAll(async () => {
  // DEBUG_NATS_LOG=1 prints the server's log (which permission was refused, and why).
  if (process.env.DEBUG_NATS_LOG) console.log(log);
  for (const nc of conns.values()) await nc.close().catch(() => {});
  server?.kill('SIGTERM');
});

function violations(): string[] {
  return log.split('\n').filter((l) => /Violation/.test(l));
}

function killSwitch(streamId: string): KillSwitchEvent {
  const hash = 'e'.repeat(64);
  return {
    schemaVersion: 1,
    type: 'killswitch',
    eventId: killSwitchEventId({ streamId, runId: 'r', frameSeq: 1, list: 'l', hash }),
    streamId,
    reason: 'hash_match',
    match: { list: 'l', distance: 0, hash },
    frame: { seq: 1, pts: 1, capturedAt: new Date().toISOString() },
    decidedAt: new Date().toISOString(),
    latencyMs: 1,
    workerId: 'perm-worker',
  };
}

/** Subjects a stream holds, as the role that may look sees them. */
async function subjects(jsm: JetStreamManager, stream: string, filter: string): Promise<string[]> {
  const info = await jsm.streams.info(stream, { subjects_filter: filter });
  return Object.keys(info.state.subjects ?? {});
}

describe('deploy/nats/streamscreen.conf on nats-server', () => {
  it('the configuration is valid as shipped (nats-server -t)', async () => {
    const code = await new Promise<number | null>((resolve) =>
      spawn('nats-server', ['-t', '-c', CONF], { env: natsEnv(), stdio: 'ignore' }).once('exit', resolve),
    );
    expect(code).toBe(0);
  });

  it('refuses anonymous clients, wrong passwords and a role name with another role password', async () => {
    await expect(connect({ servers: url, timeout: 2000 })).rejects.toThrow(/Authorization/i);
    await expect(connect({ servers: url, user: 'worker', pass: 'wrong', timeout: 2000 })).rejects.toThrow(/Authorization/i);
    await expect(connect({ servers: url, user: 'worker', pass: password('bridge'), timeout: 2000 })).rejects.toThrow(/Authorization/i);
  });

  it('every role does its job with the project code, without a permission violation', async () => {
    const before = violations().length;
    // Worker: provisions its streams, consumer and lease bucket, and follows starts and ends.
    const publisher = createDecisionPublisher({
      js: jetstream(as('worker')),
      logger: silent,
      options: publisherOptions({ publishTimeoutMs: 2000 }),
    });
    await publisher.provision();
    const assigned: ScreeningAssignment[] = [];
    const ingest = createIngest({
      nc: as('worker'),
      logger: silent,
      workerId: 'perm-worker',
      publisher,
      options: ingestOptions({ requestTimeoutMs: 2000 }),
      onAssignment: async (a): Promise<ScreeningOutcome> => {
        assigned.push(a);
        await publisher.publishKillSwitch(killSwitch(a.start.streamId), { signal: a.publishSignal });
        return { kind: 'source_ended' };
      },
    });
    await ingest.start();
    try {
      // Enforcer and console: their durable consumers on the decisions stream.
      const enforcerJsm = await jetstreamManager(as('enforcer'));
      await enforcerJsm.consumers.add('SCREENING_DECISIONS', {
        durable_name: 'enforcer',
        filter_subject: 'screening.killswitch.*',
        ack_policy: AckPolicy.Explicit,
      });
      const consoleJsm = await jetstreamManager(as('console'));
      await consoleJsm.consumers.add('SCREENING_DECISIONS', {
        durable_name: 'console',
        filter_subject: 'screening.escalation.*',
        ack_policy: AckPolicy.Explicit,
      });

      // Bridge: a start, through JetStream; the worker takes it and publishes a kill-switch.
      await jetstream(as('bridge')).publish(
        'streams.started.perm-1',
        JSON.stringify({ streamId: 'perm-1', url: 'rtmp://ingest.example/live/k' }),
      );
      await eventually(() => (assigned.length === 1 ? true : undefined), 10_000, 'worker assigned the start');
      const enforcer = await jetstream(as('enforcer')).consumers.get('SCREENING_DECISIONS', 'enforcer');
      const kill = await enforcer.next({ expires: 5000 });
      expect(kill?.subject).toBe('screening.killswitch.perm-1');
      kill!.ack();
      await jetstream(as('enforcer'))
        .publish('enforcement.actions.perm-1', JSON.stringify({ streamId: 'perm-1', action: 'drop' }))
        .catch(() => {
          // No stream stores enforcement actions yet; the publish itself must not be a violation.
        });
      const consoleConsumer = await jetstream(as('console')).consumers.get('SCREENING_DECISIONS', 'console');
      expect(await consoleConsumer.info()).toMatchObject({ name: 'console' });
      as('console').publish('screening.review.perm-1', JSON.stringify({ decision: 'confirm' }));
      await jetstream(as('bridge')).publish('streams.ended.perm-1', JSON.stringify({ streamId: 'perm-1' }));

      // List publisher: writes a list; the worker reads it.
      const dir = mkdtempSync(join(tmpdir(), 'streamscreen-perm-list-'));
      const file = join(dir, 'confirmed.txt');
      writeFileSync(file, `${'a'.repeat(64)}\tcase-1\n`);
      const bucket = await openHashListBucket(as('lists'), 'screening-hashlists');
      await publishHashList(bucket, { file, id: 'confirmed' });
      const workerView = await openHashListBucket(as('worker'), 'screening-hashlists', { create: false });
      const downloaded = await downloadHashList(workerView!, 'confirmed');
      expect(downloaded?.list.data.count).toBe(1);
      // The worker's own way: watch the bucket and load what is in it.
      const matcher = createHashMatcher(matcherOptions());
      const sync = createHashListSync({
        nc: as('worker'),
        sink: matcher.source('nats'),
        logger: silent,
        ...hashListSyncOptions({ bucket: 'screening-hashlists' }),
      });
      await sync.start();
      expect(matcher.lists().map((l) => [l.id, l.count])).toEqual([['confirmed', 1]]);
      await sync.stop();
      // The matcher deployable reads the same bucket under its own role.
      const served = createHashMatcher(matcherOptions());
      const matcherSync = createHashListSync({
        nc: as('matcher'),
        sink: served.source('nats'),
        logger: silent,
        ...hashListSyncOptions({ bucket: 'screening-hashlists' }),
      });
      await matcherSync.start();
      expect(served.lists().map((l) => l.id)).toEqual(['confirmed']);
      await matcherSync.stop();

      // Flood quarantine: the worker creates and shares the state; the list publisher releases an entry.
      const hit = { list: 'confirmed', hash: 'a'.repeat(64), distance: 0, action: 'kill' as const };
      const gate = createQuarantineGate({
        store: createKvQuarantineStore(await openQuarantineBucket(as('worker'), 'screening-quarantine')),
        options: { maxStreams: 1, windowMs: 60_000 },
        workerId: 'perm-worker',
      });
      await gate.start();
      await gate.screen('perm-1', [hit]);
      const flooded = await gate.screen('perm-2', [hit]);
      expect(flooded.newlyQuarantined).toHaveLength(1);
      await publisher.publishQuarantine(flooded.newlyQuarantined[0]!);
      gate.stop();
      const operatorView = await openQuarantineBucket(as('lists'), 'screening-quarantine', { create: false });
      const released = await createKvQuarantineStore(operatorView!).update(hit, (r) =>
        r ? releaseRecord(r, Date.now(), 'op') : undefined,
      );
      expect(released.after?.quarantinedAt).toBeUndefined();
      const operatorPublisher = createDecisionPublisher({ js: jetstream(as('lists')), logger: silent, options: publisherOptions() });
      await operatorPublisher.publishQuarantine(quarantineEvent(released.after!, { maxStreams: 1, windowMs: 60_000 }, 'released'));
      await as('worker').flush();
    } finally {
      await ingest.stop();
    }
    await Promise.all([...conns.values()].map((nc) => nc.flush()));
    expect(violations().slice(before)).toEqual([]);
  }, 30_000);

  it('only the worker can publish a kill-switch (core or JetStream)', async () => {
    const jsm = await jetstreamManager(as('worker'));
    for (const role of ['bridge', 'enforcer', 'console', 'lists'] as const) {
      const subject = `screening.killswitch.forged-by-${role}`;
      as(role).publish(subject, JSON.stringify(killSwitch(`forged-by-${role}`)));
      await expect(
        jetstream(as(role)).publish(subject, JSON.stringify(killSwitch(`forged-by-${role}`)), { timeout: 1000 }),
      ).rejects.toThrow();
      await as(role).flush();
    }
    expect(await subjects(jsm, 'SCREENING_DECISIONS', 'screening.killswitch.>')).toEqual(['screening.killswitch.perm-1']);
    expect(violations().some((l) => l.includes('screening.killswitch.forged-by-bridge'))).toBe(true);
  });

  it('only the bridge can start or end a stream', async () => {
    const jsm = await jetstreamManager(as('worker'));
    for (const role of ['worker', 'enforcer', 'console', 'lists'] as const) {
      for (const kind of ['started', 'ended'] as const) {
        const subject = `streams.${kind}.forged-by-${role}`;
        as(role).publish(subject, JSON.stringify({ streamId: `forged-by-${role}`, url: 'rtmp://x.example/a/b' }));
        await expect(jetstream(as(role)).publish(subject, '{}', { timeout: 1000 })).rejects.toThrow();
      }
      await as(role).flush();
    }
    expect(await subjects(jsm, 'SCREENING_ENDS', 'streams.ended.>')).toEqual(['streams.ended.perm-1']);
    expect((await jsm.streams.info('SCREENING_STARTS')).state.messages).toBe(0);
  });

  it('only the list publisher can write the hash-list bucket', async () => {
    const listsJsm = await jetstreamManager(as('lists'));
    const before = (await listsJsm.streams.info('OBJ_screening-hashlists')).state.messages;
    for (const role of ['worker', 'bridge', 'enforcer', 'console'] as const) {
      // Raw publishes onto the bucket's subjects (what a forged upload or a delete marker is made of).
      as(role).publish('$O.screening-hashlists.M.Y29uZmlybWVk', JSON.stringify({ name: 'confirmed', deleted: true }));
      as(role).publish(`$O.screening-hashlists.C.forged-${role}`, enc.encode('f'.repeat(64)));
      await as(role).flush();
      // And the Object Store API itself.
      await expect(
        (async () => {
          const os = await new Objm(as(role)).open('screening-hashlists');
          await os.putBlob({ name: 'confirmed' }, enc.encode(`${'f'.repeat(64)}\n`));
        })(),
      ).rejects.toThrow();
    }
    expect((await listsJsm.streams.info('OBJ_screening-hashlists')).state.messages).toBe(before);
    // The worker still gets the published list, unchanged.
    const workerView = await openHashListBucket(as('worker'), 'screening-hashlists', { create: false });
    expect((await downloadHashList(workerView!, 'confirmed'))?.list.data.count).toBe(1);
  }, 30_000);

  it("no role can read another's inbox or the start events", async () => {
    const spy = as('console');
    const seen: string[] = [];
    const refused: string[] = [];
    const wanted = ['_INBOX_worker.>', '_INBOX.>', 'streams.started.>', 'screening.>', '$KV.screening-leases.>'];
    for (const subject of wanted) {
      spy.subscribe(subject, {
        callback: (err, m) => {
          if (err) refused.push(subject);
          else seen.push(m.subject);
        },
      });
    }
    await spy.flush();
    await jetstream(as('bridge')).publish(
      'streams.started.perm-2',
      JSON.stringify({ streamId: 'perm-2', url: 'rtmp://ingest.example/live/k2' }),
    );
    await (await jetstreamManager(as('worker'))).streams.info('SCREENING_STARTS');
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual([]);
    expect(refused.sort()).toEqual([...wanted].sort());
    expect(violations().some((l) => /Subscription.*_INBOX_worker/.test(l))).toBe(true);
  });
});
