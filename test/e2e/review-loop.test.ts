/**
 * The review loop on real parts: nats-server with JetStream, live RTMP sources served by ffmpeg
 * on 127.0.0.1, the worker (sampler, PDQ, ONNX Runtime, policy, evidence, case store, decision
 * applier) and the operator's commands. The classifier is a tiny test model that calls red
 * frames explicit (test/support/signal-models.ts): the sources show a test pattern under a
 * full-frame red box, a controlled signal with no real content.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as evidenceCommand } from '../../src/cli/commands/evidence.js';
import { run as reviewCommand } from '../../src/cli/commands/review.js';
import { loadConfig } from '../../src/config/index.js';
import type { AuditRecord, CaseEvent, KillSwitchEvent, ReviewAck } from '../../src/contracts/index.js';
import { openEvidence } from '../../src/domain/evidence-envelope.js';
import { startWorker, type Worker } from '../../src/worker/app/start-worker.js';
import { captureIO } from '../support/capture-io.js';
import { ALLOW_LOOPBACK } from '../support/egress.js';
import { collectEvents, type EventCollector } from '../support/jetstream-events.js';
import { startLiveSource, type LiveSource } from '../support/live-source.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';
import { writeSignalModels } from '../support/signal-models.js';

const RED = 'drawbox=x=0:y=0:w=iw:h=ih:color=red:t=fill';
const key = randomBytes(32);

describe('review loop end to end', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let worker: Worker;
  let config: string;
  let cases: EventCollector<CaseEvent>;
  let kills: EventCollector<KillSwitchEvent>;
  let audit: EventCollector<AuditRecord>;
  const sources: LiveSource[] = [];

  const announce = async (streamId: string, url: string) =>
    jetstream(nc).publish(`streams.started.${streamId}`, JSON.stringify({ streamId, url, channel: `channel-${streamId}` }));
  const redStream = async (streamId: string) => {
    const source = await startLiveSource({ kind: 'rtmp', filter: RED, streamKey: streamId });
    sources.push(source);
    await announce(streamId, source.url);
  };
  const review = async (...args: string[]): Promise<{ code: number; ack: ReviewAck }> => {
    const io = captureIO();
    const code = await reviewCommand([...args, '--config', config], io.io, { NATS_URL: server.url });
    return { code, ack: JSON.parse(io.out().trim()) as ReviewAck };
  };
  const opened = (streamId: string, reasonClass = 'classifier:explicit') =>
    cases.waitFor((e) => e.streamId === streamId && e.type === 'case_opened' && e.reasonClass === reasonClass, 20_000);

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await server.connect();
    const dir = mkdtempSync(join(tmpdir(), 'streamscreen-review-'));
    config = join(dir, 'streamscreen.json');
    writeFileSync(
      config,
      JSON.stringify({
        classify: { manifestPath: await writeSignalModels(false), faces: false },
        evidence: { keys: { k1: key.toString('base64') } },
        // 2 fps: k = 3 frames is a second and a half. Score updates every 1.5 s to see them within the test.
        sampler: {
          allowHosts: ALLOW_LOOPBACK,
          fps: 2,
          stallTimeoutMs: 8_000,
          maxRestarts: 1,
          backoffBaseMs: 200,
          backoffMaxMs: 400,
          rwTimeoutMs: 1_000,
        },
        policy: { caseUpdateIntervalMs: 1_500, dismissSuppressMs: 120_000 },
        // A loaded CI machine must not shed these streams' classifiers (that would be an unscreened case of its own).
        pipeline: { frameBudgetMs: 10_000 },
        metrics: { enabled: false },
        // Fixed admission: test files run side by side, and measured admission reads the host's CPU.
        worker: { admission: 'fixed', id: 'review-worker' },
        log: { level: 'silent' },
      }),
    );
    const loaded = loadConfig({ file: config, env: { NATS_URL: server.url, PATH: process.env.PATH }, cwd: dir });
    worker = await startWorker(loaded, pino({ level: process.env.E2E_LOG ?? 'silent' }));
    cases = await collectEvents<CaseEvent>(nc, 'SCREENING_CASES', 'screening.escalation.*.*');
    kills = await collectEvents<KillSwitchEvent>(nc, 'SCREENING_DECISIONS', 'screening.killswitch.>');
    audit = await collectEvents<AuditRecord>(nc, 'SCREENING_AUDIT', 'screening.audit');
    await Promise.all(['rv-a', 'rv-b', 'rv-d'].map(redStream));
    await announce('rv-c', 'rtmp://127.0.0.1:9/live/never-there');
  }, 60_000);

  afterAll(async () => {
    await Promise.all([cases, kills, audit].map((c) => c?.stop()));
    await worker?.stop(0);
    await Promise.all(sources.map((s) => s.stop()));
    await nc?.close();
    await server?.stop();
  });

  it('a sustained signal opens exactly one case, whose blurred storyboard is in the object store, then updates it', async () => {
    const first = await opened('rv-a');
    expect(first).toMatchObject({
      reasonClass: 'classifier:explicit',
      priority: 'normal',
      policy: { rule: 'explicit' },
      metadata: { channel: 'channel-rv-a' },
    });
    expect(first.models).toEqual([{ id: 'test-explicit', version: '1.0.0', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    const withEvidence = await cases.waitFor(
      (e) => e.caseId === first.caseId && e.type === 'case_updated' && e.change.includes('evidence'),
      15_000,
    );
    expect(withEvidence.storyboard.length).toBeGreaterThanOrEqual(3);
    expect(withEvidence.storyboard.at(-1)!.decisive).toBe(true);
    const blurred = withEvidence.storyboard.at(-1)!.renditions.find((r) => r.rendition === 'blurred')!;
    expect(blurred).toMatchObject({
      bucket: 'screening-evidence',
      encryption: 'aes-256-gcm',
      keyId: 'k1',
      blurred: true,
      preserved: false,
    });
    // Stored sealed; the configured key opens it into a blurred greyscale JPEG with the digest the event states.
    const stored = await (await new Objm(jetstream(nc)).open('screening-evidence')).getBlob(blurred.name);
    const image = openEvidence(stored!, new Map([['k1', key]]));
    expect((await sharp(image).metadata()).format).toBe('jpeg');
    expect(image.length).toBe(blurred.size);

    await cases.waitFor((e) => e.caseId === first.caseId && e.type === 'case_updated' && e.change.includes('scores'), 15_000);
    expect(
      cases.events.filter((e) => e.streamId === 'rv-a' && e.type === 'case_opened' && e.reasonClass === 'classifier:explicit'),
    ).toHaveLength(1);
  }, 40_000);

  it('add-to-list puts the case’s PDQ hash on a list in the Object Store distribution; confirm publishes the kill-switch and closes the case', async () => {
    const c = await opened('rv-a');
    const added = await review('add-to-list', c.caseId, '--reviewer', 'alice', '--list', 'review-added');
    expect(added.code).toBe(0);
    expect(added.ack).toMatchObject({
      type: 'review_ack',
      result: 'applied',
      caseState: { state: 'open', listVersion: expect.any(String) },
    });
    const list = await (await new Objm(jetstream(nc)).open('screening-hashlists')).info('review-added');
    expect(list?.metadata).toMatchObject({ action: 'escalate', count: '1', format: 'text' });

    const confirmed = await review('confirm', c.caseId, '--reviewer', 'alice', '--reason', 'synthetic test signal');
    expect(confirmed.code).toBe(0);
    expect(confirmed.ack).toMatchObject({ result: 'applied', caseState: { state: 'closed', killSwitchEventId: expect.any(String) } });
    const kill = await kills.waitFor((e) => e.streamId === 'rv-a' && e.reason === 'review_confirmed', 10_000);
    expect(kill).toMatchObject({
      eventId: confirmed.ack.caseState.killSwitchEventId,
      caseId: c.caseId,
      review: { reviewer: 'alice' },
      policy: { rule: 'review_confirmed' },
    });
    await cases.waitFor((e) => e.caseId === c.caseId && e.type === 'case_closed' && e.closure.resolution === 'confirmed', 10_000);
    // Submitted by the reviewer, applied by the worker: both on record.
    const decisionId = confirmed.ack.decisionId;
    await audit.waitFor((a) => a.decisionId === decisionId && a.action === 'decision_applied' && a.actor.kind === 'worker', 10_000);
    expect(audit.events.some((a) => a.decisionId === decisionId && a.action === 'decision_submitted' && a.actor.id === 'alice')).toBe(true);
    // Applied once: the same decision id again gets the answer already given, and no second kill-switch.
    const again = await review('confirm', c.caseId, '--reviewer', 'alice', '--decision-id', decisionId);
    expect(again.ack).toEqual(confirmed.ack);
    expect(kills.events.filter((e) => e.streamId === 'rv-a' && e.reason === 'review_confirmed')).toHaveLength(1);
  }, 40_000);

  it('dismiss closes the case and no new case opens for that reason within the suppression time', async () => {
    const c = await opened('rv-b');
    const dismissed = await review('dismiss', c.caseId, '--reviewer', 'bob');
    expect(dismissed.ack).toMatchObject({ result: 'applied', caseState: { state: 'closed', suppressedUntil: expect.any(String) } });
    await cases.waitFor((e) => e.caseId === c.caseId && e.type === 'case_closed' && e.closure.resolution === 'dismissed', 10_000);
    // The red box stays: another 5 s of frames (10 at 2 fps) open nothing.
    await new Promise((r) => setTimeout(r, 5_000));
    expect(
      cases.events.filter((e) => e.streamId === 'rv-b' && e.type === 'case_opened' && e.reasonClass === 'classifier:explicit'),
    ).toHaveLength(1);
  }, 30_000);

  it('an unreachable source opens an unscreened case', async () => {
    const c = await opened('rv-c', 'unscreened');
    expect(c).toMatchObject({
      reasonClass: 'unscreened',
      policy: { rule: 'fail_safe' },
      reasons: [{ kind: 'unscreened', code: 'source_unreachable' }],
    });
    expect(JSON.stringify(c)).not.toContain('never-there');
  }, 30_000);

  it('a confirm for a stream that has ended is still applied (by a worker that does not hold it): audited, and the kill-switch goes out', async () => {
    const c = await opened('rv-d');
    await jetstream(nc).publish('streams.ended.rv-d', JSON.stringify({ streamId: 'rv-d' }));
    await cases.waitFor((e) => e.caseId === c.caseId && e.type === 'case_closed' && e.closure.cause === 'stream_ended', 15_000);
    const confirmed = await review('confirm', c.caseId, '--reviewer', 'carol');
    expect(confirmed.ack).toMatchObject({ result: 'applied', caseState: { state: 'closed' } });
    await kills.waitFor((e) => e.streamId === 'rv-d' && e.reason === 'review_confirmed', 10_000);
    await audit.waitFor((a) => a.decisionId === confirmed.ack.decisionId && a.action === 'decision_applied', 10_000);
  }, 40_000);

  it('exports the case as a report bundle, every read audited', async () => {
    const c = await opened('rv-a');
    // What the ingest bridge records about a publisher (its KV bucket, key = stream id).
    const publishers = await new Kvm(jetstream(nc)).create('screening-publishers');
    await publishers.put(
      'rv-a',
      JSON.stringify({ type: 'publisher', streamId: 'rv-a', target: { name: 'rv-a', publisherIp: '127.0.0.1' } }),
    );
    const out = mkdtempSync(join(tmpdir(), 'streamscreen-export-'));
    const io = captureIO();
    const code = await evidenceCommand(
      ['export', c.caseId, '--out', out, '--operator', 'ops-1', '--why', 'test report 1', '--config', config],
      io.io,
      {
        NATS_URL: server.url,
      },
    );
    expect(code, io.err()).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.case).toMatchObject({ caseId: c.caseId, streamId: 'rv-a', state: 'closed', closure: { resolution: 'confirmed' } });
    expect(report.models[0].id).toBe('test-explicit');
    expect(report.scores[0]).toMatchObject({ kind: 'classifier', signal: 'explicit' });
    expect(report.killSwitches.map((k: KillSwitchEvent) => k.reason)).toEqual(['review_confirmed']);
    expect(report.stream.metadata).toEqual({ channel: 'channel-rv-a' });
    expect(report.stream.publisher).toMatchObject({ publisherIp: '127.0.0.1' });
    expect(report.frames.length).toBeGreaterThanOrEqual(3);
    const file = report.frames[0].files[0];
    expect((await sharp(readFileSync(join(out, file.path ?? file.file))).metadata()).format).toBe('jpeg');
    await audit.waitFor((a) => a.action === 'evidence_exported' && a.actor.id === 'ops-1' && a.why === 'test report 1', 10_000);
  }, 30_000);
});
