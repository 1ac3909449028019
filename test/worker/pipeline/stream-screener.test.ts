import pino from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import type { KillSwitchEvent } from '../../../src/contracts/index.js';
import { LeaseLostError, ModelError, SourceError } from '../../../src/domain/errors.js';
import { pdqToHex } from '../../../src/domain/pdq.js';
import { createMetrics, type Metrics } from '../../../src/metrics/metrics.js';
import { createHooks } from '../../../src/domain/hooks.js';
import { workerMetricsListeners } from '../../../src/worker/app/worker-metrics.js';
import type { WorkerEvents } from '../../../src/worker/events.js';
import { createHashMatcher, type HashMatcherService } from '../../../src/hash/hash-matcher.js';
import { indexParsedList } from '../../../src/hash/load-list.js';
import { parseHashList } from '../../../src/hash/parse-hashlist.js';
import { createPdqHasher } from '../../../src/hash/pdq-hasher.js';
import { createMemoryQuarantineStore, createQuarantineGate } from '../../../src/hash/quarantine.js';
import { createStreamScreener, type StreamScreenerDeps } from '../../../src/worker/pipeline/stream-screener.js';
import { BENIGN, frame, job, LISTED, LISTED_TURNED, RecordingSink, sourceOf } from './support.js';
import { matcherOptions, policyOptions, screenerOptions } from '../../support/stage-options.js';

// The screener with the real PDQ hasher and matcher (pure, a millisecond a frame) on drawn frames;
// sources and sink are in-memory stand-ins. The real ffmpeg and NATS path is covered in test/e2e.

// The deployed defaults: the rules themselves are tested in test/policy.
const policy = policyOptions();

const hasher = createPdqHasher();
const listedHash = pdqToHex(hasher.hash(LISTED).hash);

/** A matcher serving one kill list that holds LISTED's hash, as the reference tool prints it (and a negative list holding it, if asked). */
async function listMatcher(negative = false): Promise<HashMatcherService> {
  const matcher = createHashMatcher(matcherOptions());
  const parsed = async (id: string) => parseHashList([new TextEncoder().encode(`${listedHash}\n`)], `${id}.txt`);
  matcher
    .source('test')
    .replaceAll([
      await indexParsedList(await parsed('confirmed'), { id: 'confirmed', action: 'kill', label: 'case-1', origin: 'test:confirmed' }),
      ...(negative
        ? [await indexParsedList(await parsed('logo-cards'), { id: 'logo-cards', action: 'negative', maxDistance: 4, origin: 'test:logo' })]
        : []),
    ]);
  return matcher;
}
let matcher: HashMatcherService;
beforeAll(async () => {
  matcher = await listMatcher();
});

/** The screener's deps, with its events counted by the worker's real metrics listeners. */
function deps(
  over: Partial<StreamScreenerDeps> & Pick<StreamScreenerDeps, 'openSource' | 'sink'>,
): StreamScreenerDeps & { metrics: Metrics } {
  const metrics = createMetrics({ defaultMetrics: false });
  return {
    workerId: 'w1',
    logger: pino({ level: 'silent' }),
    metrics,
    events: createHooks<WorkerEvents>(undefined, workerMetricsListeners(metrics)),
    hasher,
    matcher,
    policy,
    // In-memory sources yield every frame at once: each is classified, in order (no latest-frame-wins).
    options: screenerOptions({ frameBudgetMs: 500, classifierFailuresToReport: 3, classifyEveryFrame: true }),
    now: () => 1_000_050,
    ...over,
  };
}

describe('stream screener', () => {
  it('publishes one kill-switch for the matching frame with the full event contract', async () => {
    const sink = new RecordingSink();
    const src = sourceOf([frame(0, 1_000_000, BENIGN), frame(1, 1_000_010, LISTED), frame(2, 1_000_020, LISTED)]);
    const outcome = await createStreamScreener(deps({ openSource: src.factory, sink })).screen(job());
    expect(outcome).toEqual({ kind: 'source_ended' });
    expect(src.stopped()).toBe(true);
    expect(sink.kills).toHaveLength(1); // the second matching frame is inside the cooldown
    const e = sink.kills[0]!;
    expect(e).toMatchObject({
      type: 'killswitch',
      streamId: 's1',
      reason: 'hash_match',
      match: { list: 'confirmed', label: 'case-1', distance: 0, hash: listedHash, action: 'kill' },
      frame: { seq: 1, pts: 1, capturedAt: new Date(1_000_010).toISOString(), hash: listedHash, quality: 100 },
      decidedAt: new Date(1_000_050).toISOString(),
      latencyMs: 40,
      workerId: 'w1',
      metadata: { channel: 'c-9' },
    });
    expect(e.eventId).toMatch(/^ks-[0-9a-f]{32}$/);
  });

  it('matches a frame turned a quarter only with dihedral matching on, reporting the frame as it arrived', async () => {
    const turned = pdqToHex(hasher.hash(LISTED_TURNED).hash);
    const kills: KillSwitchEvent[][] = [];
    for (const dihedral of [false, true]) {
      const sink = new RecordingSink();
      const options = screenerOptions({ frameBudgetMs: 500, classifierFailuresToReport: 3, classifyEveryFrame: true }, { dihedral });
      await createStreamScreener(deps({ openSource: sourceOf([frame(0, 1_000_000, LISTED_TURNED)]).factory, sink, options })).screen(job());
      kills.push(sink.kills);
    }
    expect(kills[0]).toEqual([]);
    expect(kills[1]).toHaveLength(1);
    expect(kills[1]![0]).toMatchObject({ match: { list: 'confirmed', distance: 0, hash: listedHash }, frame: { hash: turned } });
  });

  it('acts on nothing a negative list recognised, and counts what it suppressed', async () => {
    const sink = new RecordingSink();
    const d = deps({ openSource: sourceOf([frame(0, 1_000_000, LISTED)]).factory, sink, matcher: await listMatcher(true) });
    expect(await createStreamScreener(d).screen(job())).toEqual({ kind: 'source_ended' });
    expect(sink.kills).toEqual([]);
    expect(sink.escalations).toEqual([]);
    const text = await d.metrics.registry.getSingleMetricAsString('streamscreen_hash_matches_suppressed_total');
    expect(text).toContain('streamscreen_hash_matches_suppressed_total{list="confirmed",by="logo-cards"} 1');
  });

  it('stops acting on an entry that matched on more streams than the quarantine allows, and reports it once', async () => {
    const sink = new RecordingSink();
    const store = createMemoryQuarantineStore();
    let t = 1_000_000;
    const gateOf = (workerId: string) =>
      createQuarantineGate({ store, options: { maxStreams: 2, windowMs: 60_000 }, workerId, now: () => (t += 10) });
    // Two workers sharing the store: one quarantines, the other sees it through its watch.
    const [g1, g2] = [gateOf('w1'), gateOf('w2')];
    await g1.start();
    await g2.start();
    const screenOn = async (streamId: string, gate: typeof g1) => {
      const d = deps({ openSource: sourceOf([frame(0, 1_000_000, LISTED)]).factory, sink, gate });
      await createStreamScreener(d).screen(job({ start: { streamId, url: 'rtmp://x/live/k', metadata: {} } }));
      return d.metrics;
    };
    await screenOn('s1', g1);
    await screenOn('s2', g2);
    expect(sink.kills.map((k) => k.streamId)).toEqual(['s1', 's2']);
    const third = await screenOn('s3', g1);
    expect(sink.kills.map((k) => k.streamId)).toEqual(['s1', 's2']);
    expect(sink.quarantines).toHaveLength(1);
    expect(sink.quarantines[0]).toMatchObject({
      state: 'quarantined',
      list: 'confirmed',
      hash: listedHash,
      streams: 3,
      maxStreams: 2,
      by: 'w1',
    });
    expect(await third.registry.getSingleMetricAsString('streamscreen_hash_matches_quarantined_total')).toContain('{list="confirmed"} 1');
    // The other worker holds it as quarantined too: a fourth stream is not killed there either.
    expect(g2.isQuarantined({ list: 'confirmed', hash: listedHash })).toBe(true);
    await screenOn('s4', g2);
    expect(sink.kills).toHaveLength(2);
    expect(sink.quarantines).toHaveLength(1);
  });

  it('hands over a decision it made even when the stream has changed hands, then stops when told to', async () => {
    const sink = new RecordingSink();
    const lost = new AbortController();
    const src = sourceOf([frame(0, 1_000_000, LISTED), frame(1, 1_000_010, BENIGN)]);
    // The kill-switch for frame 0 is decided; meanwhile intake learns another worker holds the stream.
    sink.onKill = () => lost.abort(new LeaseLostError('s1'));
    const outcome = await createStreamScreener(deps({ openSource: src.factory, sink })).screen(
      job({
        signal: lost.signal,
        assertOwned: async () => {
          throw new LeaseLostError('s1');
        },
      }),
    );
    // Never dropped because ownership changed: consumers dedupe by event id.
    expect(sink.kills.map((k) => k.frame!.seq)).toEqual([0]);
    expect(outcome).toEqual({ kind: 'stopped' });
    expect(src.stopped()).toBe(true);
  });

  it('starts from the stored policy state, so a cooldown begun by the previous holder still holds, and stores its own', async () => {
    const sink = new RecordingSink();
    const saved: unknown[] = [];
    const store = {
      load: async () => ({ lastKillSwitchAt: 1_000_000, lastEscalationAt: {} }),
      save: (_: string, st: unknown) => void saved.push(st),
    };
    const inside = sourceOf([frame(0, 1_000_000, LISTED)]);
    await createStreamScreener(deps({ openSource: inside.factory, sink, policyState: store })).screen(job());
    expect(sink.kills).toEqual([]);
    expect(saved).toEqual([]);
    const later = sourceOf([frame(0, 1_000_000, LISTED)]);
    const d = deps({
      openSource: later.factory,
      sink,
      policyState: { ...store, load: async () => ({ lastKillSwitchAt: 0, lastEscalationAt: {} }) },
    });
    await createStreamScreener(d).screen(job());
    expect(sink.kills).toHaveLength(1);
    expect(saved).toEqual([{ lastKillSwitchAt: Date.parse(sink.kills[0]!.decidedAt), lastEscalationAt: {} }]);
  });

  it('returns a source that failed for good as a failed outcome for intake to report, and opens its unscreened case', async () => {
    const sink = new RecordingSink();
    const err = Object.assign(new SourceError('source_failed', 'gave up after 5 attempts'), { attempts: 5 });
    const src = sourceOf([frame(0, 1_000_000, BENIGN)], err);
    const outcome = await createStreamScreener(deps({ openSource: src.factory, sink })).screen(job());
    expect(outcome).toEqual({ kind: 'failed', error: err });
    expect(sink.failures).toEqual([]);
    // Its fail-safe case is the screener's: the stream is unscreened.
    expect(sink.cases.map((c) => [c.type, c.reasonClass, c.reasons[0]])).toEqual([
      ['case_opened', 'unscreened', { kind: 'unscreened', code: 'source_failed', message: 'gave up after 5 attempts' }],
    ]);
    expect(src.stopped()).toBe(true);
  });

  it('skips classifiers for a frame already over budget, counts it, and still hashes it', async () => {
    const sink = new RecordingSink();
    let classified = 0;
    const d = deps({
      openSource: sourceOf([frame(0, 1_000_000, LISTED), frame(1, 999_000, BENIGN)]).factory,
      sink,
      classifier: {
        ready: true,
        classify: async () => {
          classified++;
          return { nudity: { neutral: 1 } };
        },
      },
    });
    await createStreamScreener(d).screen(job());
    expect(classified).toBe(1);
    expect(sink.kills).toHaveLength(1);
    const shed = await d.metrics.framesShed.get();
    expect(shed.values.find((v) => v.labels.reason === 'classifiers_over_budget')?.value).toBe(1);
  });

  it('publishes the kill-switch before inference, and keeps hash screening when the classifiers fail', async () => {
    const sink = new RecordingSink();
    const order: string[] = [];
    sink.killSwitch = async (e) => {
      order.push('kill');
      sink.kills.push(e);
    };
    const frames = [frame(0, 1_000_000, LISTED), ...Array.from({ length: 4 }, (_, i) => frame(i + 1, 1_000_000, BENIGN))];
    const d = deps({
      openSource: sourceOf(frames).factory,
      sink,
      classifier: {
        ready: true,
        classify: async () => {
          order.push('classify');
          throw new ModelError('inference_failed', 'session broke');
        },
      },
    });
    const outcome = await createStreamScreener(d).screen(job());
    expect(outcome).toEqual({ kind: 'source_ended' });
    expect(order.slice(0, 2)).toEqual(['kill', 'classify']);
    expect(sink.kills).toHaveLength(1);
    // Reported once, at the third consecutive failure; screening went on to the end of the source.
    expect(sink.failures).toHaveLength(1);
    expect(sink.failures[0]).toMatchObject({ code: 'inference_failed', message: expect.stringMatching(/hash screening continues/) });
    const shed = await d.metrics.framesShed.get();
    expect(shed.values.find((v) => v.labels.reason === 'classifier_failed')?.value).toBe(5);
  });

  it('stops quietly when its job is aborted', async () => {
    const sink = new RecordingSink();
    const ac = new AbortController();
    ac.abort();
    const outcome = await createStreamScreener(deps({ openSource: sourceOf([frame(0, 1_000_000, LISTED)]).factory, sink })).screen(
      job({ signal: ac.signal }),
    );
    expect(outcome).toEqual({ kind: 'stopped' });
    expect(sink.kills).toEqual([]);
  });
});
