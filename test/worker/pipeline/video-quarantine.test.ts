/**
 * Flood quarantine over known-video (vPDQ) matches: a frame hash of a known video that matches
 * on too many streams (here a title card many streams show) is quarantined like an image entry,
 * in the shared KV bucket on a real nats-server, and stops counting towards its video's match on
 * every worker; the video's other frames still match it. The screener runs with the real PDQ
 * hasher and matcher on drawn frames (sources and sink in memory, as in stream-screener.test.ts).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hammingDistance, pdqToHex } from '../../../src/domain/pdq.js';
import { createHooks } from '../../../src/domain/hooks.js';
import { createHashMatcher, type HashMatcherService } from '../../../src/hash/hash-matcher.js';
import { indexParsedList } from '../../../src/hash/load-list.js';
import { parseHashList } from '../../../src/hash/parse-hashlist.js';
import { createPdqHasher } from '../../../src/hash/pdq-hasher.js';
import { createQuarantineGate, type QuarantineGate } from '../../../src/hash/quarantine.js';
import { createKvQuarantineStore, openQuarantineBucket } from '../../../src/hash/quarantine-kv.js';
import { createMetrics } from '../../../src/metrics/metrics.js';
import { workerMetricsListeners } from '../../../src/worker/app/worker-metrics.js';
import type { WorkerEvents } from '../../../src/worker/events.js';
import { createStreamScreener, type StreamScreenerDeps } from '../../../src/worker/pipeline/stream-screener.js';
import { matcherOptions, policyOptions, screenerOptions } from '../../support/stage-options.js';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.js';
import { drawn, frame, job, RecordingSink, sourceOf, type Picture } from './support.js';

const hasher = createPdqHasher();
/** The known video: four scenes of its own and a title card (the card first, as videos open). */
const CARD = drawn(96, 64, (x, y) => 128 + 90 * Math.sin(x / 5 + y / 13) * Math.cos((x - y) / 17));
const SCENES = [3, 5, 8, 13].map((k) =>
  drawn(96, 64, (x, y) => 128 + 85 * Math.sin((x * k) / 29 + y / (k + 2)) * Math.cos((y * (k + 1)) / 23)),
);
const VIDEO = [CARD, ...SCENES];
const hex = (p: Picture) => pdqToHex(hasher.hash(p).hash);

/** The video as one vPDQ file (frameNumber,quality,pdqHash,timestampSeconds), one frame a second, served as list 'videos' (kill). */
async function videoMatcher(): Promise<HashMatcherService> {
  const text = VIDEO.map((p, i) => `${i},100,${hex(p)},${i}.000`).join('\n');
  const parsed = await parseHashList([new TextEncoder().encode(`${text}\n`)], 'case-7.vpdq', { format: 'vpdq', videoId: 'case-7' });
  const matcher = createHashMatcher(matcherOptions());
  matcher
    .source('test')
    .replaceAll([await indexParsedList(parsed, { id: 'videos', action: 'kill', origin: 'test' }, { minIndexedSize: 2 })]);
  return matcher;
}

describe('flood quarantine of known-video frames (nats-server)', () => {
  let server: NatsServerHandle;
  let matcher: HashMatcherService;
  const conns: NatsConnection[] = [];
  const gates: QuarantineGate[] = [];
  const sink = new RecordingSink();

  /** A worker's gate on its own connection: 2 streams per entry allowed, a third quarantines. */
  const gate = async (workerId: string): Promise<QuarantineGate> => {
    const nc = await server.connect();
    conns.push(nc);
    const store = createKvQuarantineStore(await openQuarantineBucket(nc, 'q-video'));
    const g = createQuarantineGate({ store, options: { maxStreams: 2, windowMs: 600_000 }, workerId });
    await g.start();
    gates.push(g);
    return g;
  };

  /** Screens one stream showing `pictures`, one a second; returns its metrics. */
  const screen = async (streamId: string, pictures: readonly Picture[], g?: QuarantineGate) => {
    const metrics = createMetrics({ defaultMetrics: false });
    const t0 = 1_000_000;
    const deps: StreamScreenerDeps = {
      workerId: 'w',
      logger: pino({ level: 'silent' }),
      events: createHooks<WorkerEvents>(undefined, workerMetricsListeners(metrics)),
      hasher,
      matcher,
      policy: policyOptions(),
      options: screenerOptions({ frameBudgetMs: 500 }),
      openSource: sourceOf(pictures.map((p, i) => frame(i, t0 + i * 1_000, p))).factory,
      sink,
      now: () => t0 + pictures.length * 1_000,
      ...(g ? { gate: g } : {}),
    };
    await createStreamScreener(deps).screen(job({ start: { streamId, url: 'rtmp://x/live/k', metadata: {} } }));
    return metrics;
  };
  const killed = () => sink.kills.map((k) => k.streamId);

  beforeAll(async () => {
    // The pictures are far apart for PDQ, so each frame matches only itself.
    for (let i = 0; i < VIDEO.length; i++)
      for (let j = i + 1; j < VIDEO.length; j++)
        expect(hammingDistance(hasher.hash(VIDEO[i]!).hash, hasher.hash(VIDEO[j]!).hash)).toBeGreaterThan(64);
    matcher = await videoMatcher();
    server = await startNatsServer();
  }, 30_000);

  afterAll(async () => {
    for (const g of gates) g.stop();
    for (const nc of conns) await nc.close();
    await server?.stop();
  });

  it('a title card matching on too many streams stops counting towards the video, on every worker; the video still matches without it', async () => {
    // Without a gate, the card and three scenes are 4 of the video's 5 frames: 80 %, a video match.
    await screen('control', [CARD, ...SCENES.slice(0, 3)]);
    expect(killed()).toEqual(['control']);
    expect(sink.kills[0]!.match).toMatchObject({ list: 'videos', video: { id: 'case-7', matchedFrames: 4, videoFrames: 5 } });

    const [w1, w2] = [await gate('w1'), await gate('w2')];
    // Three streams show the card alone (1 of 5 frames: no video match): the third quarantines it, reported once.
    await screen('card-1', [CARD], w1);
    await screen('card-2', [CARD], w2);
    const third = await screen('card-3', [CARD], w1);
    expect(sink.quarantines).toHaveLength(1);
    expect(sink.quarantines[0]).toMatchObject({ state: 'quarantined', list: 'videos', hash: hex(CARD), streams: 3, maxStreams: 2 });
    expect(await third.registry.getSingleMetricAsString('streamscreen_hash_matches_quarantined_total')).toContain('{list="videos"} 1');
    expect(killed()).toEqual(['control']);

    // The other worker learns it through the bucket's watch: the same 4 frames are now 3 of 5 (60 %).
    await expect.poll(() => w2.isQuarantined({ list: 'videos', hash: hex(CARD) }), { timeout: 5_000 }).toBe(true);
    await screen('card-and-scenes', [CARD, ...SCENES.slice(0, 3)], w2);
    expect(killed()).toEqual(['control']);
    // The video's own four scenes still match it, through the gate.
    await screen('scenes', SCENES, w1);
    expect(killed()).toEqual(['control', 'scenes']);
    expect(sink.kills[1]!.match).toMatchObject({ list: 'videos', video: { id: 'case-7', matchedFrames: 4 } });
    expect(sink.quarantines).toHaveLength(1);
  });
});
