import { fileURLToPath } from 'node:url';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnforcementAction, KillSwitchEvent, PublisherRecord } from '../../src/contracts/index.js';
import { collectEvents, type EventCollector } from '../support/jetstream-events.js';
import { eventually } from '../support/eventually.js';
import { startIngestLoop, type IngestLoop } from '../support/ingest-loop.js';
import { nginxRtmpMissing } from '../support/nginx-rtmp.js';
import { startRtmpPublisher, type RtmpPublisher } from '../support/rtmp-publisher.js';

// The loop closed on a real ingest: nginx with Debian's RTMP module on 127.0.0.1, nats-server,
// and streamscreen worker, bridge and enforcer as processes. An encoder publishes a synthetic
// stream that shows a listed (benign) image after a few seconds: nginx's on_publish reaches the
// bridge, the worker pulls the stream from nginx, its kill-switch reaches the enforcer, nginx
// drops the encoder, and the encoder's reconnect is refused. A clean stream on the same nginx
// keeps running.

const IMAGE = fileURLToPath(new URL('../../../shared/pdq-vectors/decoded/bridge-1-original.png', import.meta.url));
const IMAGE_AFTER_S = 3;
const small = { width: 320, height: 240, fps: 10 };

describe.skipIf(nginxRtmpMissing())('ingest loop on nginx-rtmp', () => {
  let loop: IngestLoop;
  let nc: NatsConnection;
  let kills: EventCollector<KillSwitchEvent>;
  let audit: EventCollector<EnforcementAction>;
  const publishers: RtmpPublisher[] = [];

  beforeAll(async () => {
    loop = await startIngestLoop({ listImage: IMAGE });
    nc = await loop.nats.connect();
    kills = await collectEvents<KillSwitchEvent>(nc, 'SCREENING_DECISIONS', 'screening.killswitch.>');
    audit = await collectEvents<EnforcementAction>(nc, 'ENFORCEMENT_AUDIT', 'enforcement.actions.>');
  }, 60_000);

  afterAll(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await kills?.stop();
    await audit?.stop();
    await nc?.close();
    await loop?.stop();
  });

  const failureContext = () => loop.services.map((s) => `--- ${s.name}\n${s.output().slice(-3000)}`).join('\n');

  it('cuts off a broadcaster whose stream matches the list, refuses its reconnect, and leaves a clean stream running', async () => {
    const clean = startRtmpPublisher(loop.publishUrl('clean-key'), { ...small, pattern: 'testsrc2' });
    const victim = startRtmpPublisher(loop.publishUrl('victim-key'), { ...small, image: IMAGE, imageAfterSec: IMAGE_AFTER_S });
    publishers.push(clean, victim);

    const records = await new Kvm(nc).open('screening-publishers');
    const record = await eventually(
      async () => {
        for await (const k of await records.keys()) {
          const r = (await records.get(k))?.json<PublisherRecord>();
          if (r?.target.name === 'victim-key') return r;
        }
        return undefined;
      },
      15_000,
      "the bridge's record of the victim's publish",
      100,
    );
    expect(record).toMatchObject({ ingest: { id: 'nginx-1', kind: 'nginx-rtmp' }, target: { app: 'live', publisherIp: '127.0.0.1' } });
    expect(record.target.clientId).toMatch(/^\d+$/);

    const exit = await Promise.race([victim.exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
    if (!exit) throw new Error(`the victim was not cut off within 30 s\n${failureContext()}`);
    const kill = kills.events.find((k) => k.streamId === record.streamId);
    expect(kill, 'a kill-switch for the victim').toMatchObject({ reason: 'hash_match', match: { list: 'known' } });
    const dropped = await audit.waitFor((a) => a.streamId === record.streamId && a.action === 'disconnect', 5_000);
    expect(dropped).toMatchObject({ result: 'done', detail: 'nginx-rtmp dropped 1 publisher session(s)', ingest: { id: 'nginx-1' } });

    // From the first frame showing the image leaving the encoder (the publish was accepted at
    // startedAt, the encoder paces frames in real time) to the encoder being cut off.
    const firstMatchLeft = Date.parse(record.startedAt) + IMAGE_AFTER_S * 1000;
    const frameToDisconnectMs = exit.at - firstMatchLeft;
    process.stdout.write(
      `ingest loop: first matching frame -> disconnect ${frameToDisconnectMs} ms (kill decided ${kill!.latencyMs} ms after its frame)\n`,
    );
    // A sanity bound for a loaded 2-core CI; the measured figure comes from npm run bench:ingest.
    expect(frameToDisconnectMs).toBeLessThan(10_000);

    // The encoder reconnects with the same key: the bridge refuses it, nginx drops it at once.
    const blockedBefore = await loop.bridgeMetric('streamscreen_bridge_hooks_total{kind="nginx-rtmp",outcome="blocked"}');
    const retry = startRtmpPublisher(loop.publishUrl('victim-key'), { ...small, pattern: 'testsrc2' });
    publishers.push(retry);
    const refused = await Promise.race([retry.exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    expect(refused, 'the reconnect is refused').not.toBeNull();
    expect(refused!.code).not.toBe(0);
    expect(await loop.bridgeMetric('streamscreen_bridge_hooks_total{kind="nginx-rtmp",outcome="blocked"}')).toBe(blockedBefore + 1);

    // The clean stream on the same nginx: still publishing, screened, never killed.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(clean.alive()).toBe(true);
    expect(kills.events.filter((k) => k.streamId !== record.streamId)).toEqual([]);
  }, 90_000);
});
