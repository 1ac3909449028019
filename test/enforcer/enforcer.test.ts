import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import {
  blockKey,
  streamKeyValue,
  type BlockRecord,
  type EnforcementAction,
  type KillSwitchEvent,
  type PublisherRecord,
} from '../../src/contracts/index.js';
import { startEnforcer, type RunningEnforcer } from '../../src/enforcer/start-enforcer.js';
import { createDecisionPublisher } from '../../src/worker/publish/index.js';
import { json, startFakeIngestApi, type FakeIngestApi } from '../support/fake-ingest-api.js';
import { collectEvents, type EventCollector } from '../support/jetstream-events.js';
import { eventually } from '../support/eventually.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { publisherOptions } from '../support/stage-options.js';

// The enforcer on a real nats-server. The ingest is SRS's HTTP API played by a loopback server
// (SRS is not packaged here; it answers DELETE /api/v1/clients/<id> as SRS documents); the
// nginx-rtmp kick on a real nginx is in nginx-kick.test.ts and the e2e loop.

const exec = promisify(execFile);
const CLI = join(import.meta.dirname, '../../dist/src/cli.js');
const hash = 'ab'.repeat(32);

describe('enforcer', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let api: FakeIngestApi;
  let enforcer: RunningEnforcer;
  let audit: EventCollector<EnforcementAction>;
  let records: KV;
  let blocks: KV;
  let configFile: string;
  /** SRS clients connected now; `flaky` fails this many times first. */
  const clients = new Set<string>();
  let flaky = 0;

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await server.connect();
    api = await startFakeIngestApi((req, res) => {
      const id = decodeURIComponent(/^\/api\/v1\/clients\/([^/?]+)$/.exec(req.url)?.[1] ?? '');
      if (id === 'flaky' && flaky-- > 0) return json(res, 503, { code: 1 });
      json(res, 200, { code: clients.delete(id) || id === 'flaky' ? 0 : 2049 });
    });
    // The worker's decisions stream, as the worker creates it.
    await createDecisionPublisher({ js: jetstream(nc), logger: pino({ level: 'silent' }), options: publisherOptions() }).provision();
    const dir = mkdtempSync(join(tmpdir(), 'enforcer-'));
    configFile = join(dir, 'streamscreen.json');
    const config = {
      nats: { url: server.url },
      ingests: [
        { id: 'srs-1', kind: 'srs', secret: 'a-long-enough-secret', pullUrl: 'rtmp://srs/{app}/{name}', control: { url: api.url } },
      ],
      enforcer: { id: 'enf-test', retryBaseMs: 100, retryMaxMs: 400, blockMs: 60_000 },
      metrics: { enabled: false },
    };
    writeFileSync(configFile, JSON.stringify(config));
    enforcer = await startEnforcer(loadConfig({ env: {}, file: configFile }), pino({ level: process.env.E2E_LOG ?? 'silent' }));
    const kvm = new Kvm(nc);
    records = await kvm.open('screening-publishers');
    blocks = await kvm.open('screening-blocks');
    audit = await collectEvents<EnforcementAction>(nc, 'ENFORCEMENT_AUDIT', 'enforcement.actions.>');
  }, 30_000);

  afterAll(async () => {
    await audit?.stop();
    await enforcer?.stop();
    await api?.close();
    await nc?.close();
    await server?.stop();
  });

  async function announce(streamId: string, clientId: string): Promise<PublisherRecord> {
    const record: PublisherRecord = {
      schemaVersion: 1,
      type: 'publisher',
      streamId,
      ingest: { id: 'srs-1', kind: 'srs' },
      target: { app: 'live', name: `key-${streamId}`, clientId, publisherIp: '198.51.100.4' },
      nameRedacted: 'ke***',
      urlRedacted: 'rtmp://srs/live/***',
      startEventId: `start-${streamId}`,
      startedAt: new Date().toISOString(),
    };
    await records.put(streamId, JSON.stringify(record));
    return record;
  }

  const kill = (
    streamId: string,
    eventId = `ks-${streamId}`,
    subject = `screening.killswitch.${streamId}`,
    extra: Partial<KillSwitchEvent> = {},
  ) =>
    jetstream(nc).publish(
      subject,
      JSON.stringify({
        schemaVersion: 1,
        type: 'killswitch',
        eventId,
        streamId,
        reason: 'hash_match',
        match: { list: 'confirmed', distance: 4, hash, action: 'kill' },
        frame: { seq: 3, pts: 3, capturedAt: new Date().toISOString(), hash, quality: 90 },
        decidedAt: new Date().toISOString(),
        latencyMs: 12,
        workerId: 'w-1',
        ...extra,
      }),
      { msgID: `${eventId}-${Math.random()}` },
    );

  it('blocks the publisher, drops it at the ingest, and audits both; a hash-list kill blocks until lifted', async () => {
    clients.add('c-100');
    const record = await announce('s-kill', 'c-100');
    await kill('s-kill');
    const dropped = await audit.waitFor((a) => a.streamId === 's-kill' && a.action === 'disconnect', 10_000);
    expect(dropped).toMatchObject({
      result: 'done',
      attempt: 1,
      willRetry: false,
      ingest: { id: 'srs-1', kind: 'srs' },
      target: { clientId: 'c-100', nameRedacted: 'ke***' },
      by: 'enf-test',
    });
    expect(clients.has('c-100')).toBe(false);
    expect(api.requests.some((r) => r.method === 'DELETE' && r.url === '/api/v1/clients/c-100')).toBe(true);
    const blocked = await audit.waitFor((a) => a.streamId === 's-kill' && a.action === 'block', 5_000);
    const keyBlock = blockKey('key', streamKeyValue(record.target));
    expect(blocked.blockKeys).toEqual([keyBlock, blockKey('stream', 's-kill')].sort());
    const stored = (await blocks.get(keyBlock))!.json<BlockRecord>();
    expect(stored).toMatchObject({
      scope: 'key',
      display: 'live/ke***',
      expiresAt: null,
      killSwitchEventId: 'ks-s-kill',
      list: 'confirmed',
    });
    // The audit never holds the stream key.
    expect(JSON.stringify(audit.events.filter((a) => a.streamId === 's-kill'))).not.toContain('key-s-kill');
  });

  it('carries a kill out once: copies of the event, at once or later, are acked without a second kick', async () => {
    clients.add('c-200');
    await announce('s-once', 'c-200');
    // Two copies back to back (handled concurrently), and a third once the first is done.
    await kill('s-once', 'ks-once');
    await kill('s-once', 'ks-once');
    await audit.waitFor((a) => a.streamId === 's-once' && a.action === 'disconnect', 10_000);
    await kill('s-once', 'ks-once');
    const jsm = await jetstreamManager(nc);
    await eventually(
      async () => {
        const info = await jsm.consumers.info('SCREENING_DECISIONS', 'enforcer');
        return info.num_pending === 0 && info.num_ack_pending === 0;
      },
      10_000,
      'every copy to be settled',
    );
    expect(api.requests.filter((r) => r.url === '/api/v1/clients/c-200')).toHaveLength(1);
    expect(audit.events.filter((a) => a.streamId === 's-once' && a.action === 'disconnect')).toHaveLength(1);
  });

  it('retries a failing ingest with backoff, auditing each failed attempt, until it confirms', async () => {
    flaky = 2;
    await announce('s-flaky', 'flaky');
    await kill('s-flaky');
    const done = await audit.waitFor((a) => a.streamId === 's-flaky' && a.action === 'disconnect' && a.result === 'done', 15_000);
    expect(done.attempt).toBe(3);
    const failed = audit.events.filter((a) => a.streamId === 's-flaky' && a.action === 'disconnect' && a.result === 'failed');
    expect(failed.map((a) => [a.attempt, a.willRetry])).toEqual([
      [1, true],
      [2, true],
    ]);
  });

  it('counts a publisher already gone as done, never acts on shadow kills, dead-letters a malformed one', async () => {
    await announce('s-gone', 'c-never-connected');
    await kill('s-gone');
    expect(await audit.waitFor((a) => a.streamId === 's-gone' && a.action === 'disconnect', 10_000)).toMatchObject({
      result: 'already_gone',
    });

    clients.add('c-shadow');
    await announce('s-shadow', 'c-shadow');
    await kill('s-shadow', 'ks-shadow', 'screening.shadow.killswitch.s-shadow', { shadow: true });
    const dead = await collectEvents<{ subject: string; reason: string }>(nc, 'SCREENING_DEADLETTER', 'screening.deadletter');
    try {
      await jetstream(nc).publish('screening.killswitch.s-bad', JSON.stringify({ type: 'killswitch', streamId: 's-bad' }));
      expect(await dead.waitFor((d) => d.subject === 'screening.killswitch.s-bad', 10_000)).toMatchObject({ reason: 'schema_invalid' });
    } finally {
      await dead.stop();
    }
    expect(clients.has('c-shadow')).toBe(true);
    expect(audit.events.some((a) => a.streamId === 's-shadow')).toBe(false);
  });

  it('block list shows the blocks in force; block lift deletes them and audits who lifted them', async () => {
    const list = await exec('node', [CLI, 'block', 'list', '--json', '--config', configFile]);
    const listed = list.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as BlockRecord & { active: boolean });
    expect(
      listed
        .filter((b) => b.streamId === 's-kill')
        .map((b) => b.scope)
        .sort(),
    ).toEqual(['key', 'stream']);
    expect(list.stdout).not.toContain('key-s-kill');

    const lift = await exec('node', [
      CLI,
      'block',
      'lift',
      '--stream',
      's-kill',
      '--by',
      'lead-7',
      '--note',
      'false positive',
      '--config',
      configFile,
    ]);
    expect(lift.stdout).toMatch(/lifted 2 block\(s\)/);
    const lifted = await audit.waitFor((a) => a.streamId === 's-kill' && a.action === 'unblock', 10_000);
    expect(lifted).toMatchObject({ reason: 'operator', by: 'lead-7', detail: 'false positive', result: 'done' });
    expect(await blocks.get(blockKey('stream', 's-kill'))).toMatchObject({ operation: 'DEL' });
    await expect(
      exec('node', [CLI, 'block', 'lift', 'key-00000000000000000000000000000000', '--by', 'x', '--config', configFile]),
    ).rejects.toMatchObject({ code: 1 });
    await expect(exec('node', [CLI, 'block', 'lift', '--stream', 's-x', '--config', configFile])).rejects.toMatchObject({ code: 2 });
  }, 30_000);

  it('a review dismiss lifts the stream’s blocks, but not a permanent hash-list block', async () => {
    const at = new Date().toISOString();
    const base = {
      schemaVersion: 1 as const,
      type: 'block' as const,
      display: 'x',
      streamId: 's-review',
      createdAt: at,
      createdBy: 'enf-test',
    };
    const hashBlock: BlockRecord = {
      ...base,
      key: blockKey('key', 'live/hash-kill'),
      scope: 'key',
      reason: 'killswitch',
      list: 'confirmed',
      expiresAt: null,
    };
    const reviewBlock: BlockRecord = {
      ...base,
      key: blockKey('stream', 's-review'),
      scope: 'stream',
      reason: 'review_confirmed',
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    };
    for (const b of [hashBlock, reviewBlock]) await blocks.put(b.key, JSON.stringify(b));
    const decision = {
      schemaVersion: 1,
      type: 'review_decision',
      decisionId: 'd-dismiss-1',
      caseId: 'esc-s-review',
      streamId: 's-review',
      decision: 'dismiss',
      reviewer: 'r-7',
      decidedAt: at,
      source: 'console',
    };
    await jetstream(nc).publish('screening.review.s-review', JSON.stringify(decision), { msgID: decision.decisionId });
    const lifted = await audit.waitFor((a) => a.streamId === 's-review' && a.action === 'unblock', 10_000);
    expect(lifted).toMatchObject({ reason: 'review_dismissed', by: 'reviewer:r-7', blockKeys: [reviewBlock.key] });
    expect(await blocks.get(reviewBlock.key)).toMatchObject({ operation: 'DEL' });
    expect((await blocks.get(hashBlock.key))?.operation).toBe('PUT');
  });

  it('sweeps blocks whose time is up, auditing the lift as expired', async () => {
    const b: BlockRecord = {
      schemaVersion: 1,
      type: 'block',
      key: blockKey('ip', '203.0.113.50'),
      scope: 'ip',
      display: '203.0.113.50',
      streamId: 's-old',
      reason: 'killswitch',
      createdAt: new Date(Date.now() - 120_000).toISOString(),
      expiresAt: new Date(Date.now() - 1_000).toISOString(),
      createdBy: 'enf-test',
    };
    await blocks.put(b.key, JSON.stringify(b));
    expect(await enforcer.sweep()).toBe(1);
    expect(await audit.waitFor((a) => a.streamId === 's-old' && a.action === 'unblock', 5_000)).toMatchObject({ reason: 'expired' });
    await eventually(async () => (await blocks.get(b.key))?.operation === 'DEL', 2_000, 'the expired block to go');
    expect(enforcer.ready()).toEqual({ ready: true, reasons: [] });
  });
});
