import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ReviewDecisionSchema } from '../../../src/contracts/index.js';
import { EMPTY_STREAM_CASES, type StreamCases } from '../../../src/domain/cases.js';
import type { RawFrame } from '../../../src/domain/frame.js';
import type { CaseStateStore, EvidenceRequest, EvidenceStore, FrameClassifier } from '../../../src/domain/ports.js';
import type { FrameSignals } from '../../../src/domain/signals.js';
import { AssignmentAbortedError } from '../../../src/worker/intake/errors.js';
import { createHashMatcher } from '../../../src/hash/hash-matcher.js';
import { createPdqHasher } from '../../../src/hash/pdq-hasher.js';
import { createStreamScreener, type LiveStream, type StreamScreenerDeps } from '../../../src/worker/pipeline/stream-screener.js';
import { matcherOptions, policyOptions, screenerOptions } from '../../support/stage-options.js';
import { BENIGN, frame, job, RecordingSink, sourceOf } from './support.js';

// The screener's case flow: the real policy, PDQ hasher and an empty matcher; the classifier
// reports the scores each test gives, and the case store and evidence store are in-memory
// stand-ins recording what they were handed (the NATS-backed ones are tested in test/worker/cases
// and test/worker/evidence, and the whole path in test/e2e/review-loop.test.ts).

/** One frame per second from t = 1 000 000 ms; `now` follows the frame being screened. */
const T0 = 1_000_000;
const frames = (n: number): RawFrame[] => Array.from({ length: n }, (_, i) => frame(i, T0 + i * 1000, BENIGN));

function scripted(scores: ReadonlyArray<FrameSignals | Error>): FrameClassifier & { calls: number } {
  const c = {
    ready: true,
    calls: 0,
    async classify() {
      const s = scores[Math.min(c.calls++, scores.length - 1)]!;
      if (s instanceof Error) throw s;
      return s;
    },
  };
  return c;
}

const explicit = (porn: number, ages: number[] = []): FrameSignals => ({
  nudity: { porn, neutral: 1 - porn },
  faces: ages.map((age) => ({ box: [0, 0, 9, 9], score: 0.9, age })),
});

class MemoryEvidence implements EvidenceStore {
  requests: EvidenceRequest[] = [];
  async store(r: EvidenceRequest) {
    this.requests.push(r);
    return r.frames.map((f, i) => ({
      seq: f.frame.seq,
      capturedAt: new Date(f.frame.capturedAt).toISOString(),
      decisive: i === r.frames.length - 1,
      renditions: [
        {
          bucket: 'ev',
          name: `${r.caseId}/${f.frame.seq}`,
          sha256: 'a'.repeat(64),
          size: 1,
          contentType: 'image/jpeg' as const,
          rendition: 'blurred' as const,
          blurred: true,
          preserved: false,
          encryption: 'none' as const,
        },
      ],
    }));
  }
}

class MemoryCases implements CaseStateStore {
  saved: StreamCases[] = [];
  constructor(private initial: StreamCases = EMPTY_STREAM_CASES) {}
  async load() {
    return this.initial;
  }
  async save(_id: string, cases: StreamCases) {
    this.saved.push(cases);
    return cases;
  }
}

function deps(over: Partial<StreamScreenerDeps> & Pick<StreamScreenerDeps, 'openSource' | 'sink'>): StreamScreenerDeps {
  let t = T0;
  return {
    workerId: 'w1',
    logger: pino({ level: 'silent' }),
    hasher: createPdqHasher(),
    matcher: createHashMatcher(matcherOptions()),
    policy: policyOptions(),
    // In-memory sources yield every frame at once: each is classified, in order (no latest-frame-wins).
    options: screenerOptions({ frameBudgetMs: 60_000, classifyEveryFrame: true }),
    // Time advances a little with every reading, so the frame budget is never the issue here.
    now: () => (t += 10),
    ...over,
  };
}

describe('stream screener: cases', () => {
  it('a sustained signal opens exactly one case after k of n frames, with a storyboard of the frames up to it, then updates it; the stream end closes it', async () => {
    const sink = new RecordingSink();
    const evidence = new MemoryEvidence();
    const store = new MemoryCases();
    const input = frames(20);
    const d = deps({ openSource: sourceOf(input).factory, sink, classifier: scripted([explicit(0.95)]), evidence, cases: store });
    expect(await createStreamScreener(d).screen(job())).toEqual({ kind: 'source_ended' });

    const opened = sink.cases.filter((c) => c.type === 'case_opened');
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({
      reasonClass: 'classifier:explicit',
      priority: 'normal',
      policy: { rule: 'explicit' },
      frame: { seq: 2 },
      storyboard: [],
    });
    // One page, for the opening; score updates do not page.
    expect(sink.escalations.map((e) => [e.caseId, e.priority, e.policy?.rule])).toEqual([[opened[0]!.caseId, 'normal', 'explicit']]);
    // The storyboard: the frames up to the decisive one (3 so far: fewer than 6 had been sampled), the very buffers sampled.
    expect(evidence.requests).toHaveLength(1);
    expect(evidence.requests[0]!.frames.map((f) => f.frame.seq)).toEqual([0, 1, 2]);
    expect(evidence.requests[0]!.frames[2]!.frame.data).toBe(input[2]!.data);
    expect(evidence.requests[0]!.preserveOriginal).toBe(false);
    const withEvidence = sink.cases.find((c) => c.type === 'case_updated' && c.change.includes('evidence'))!;
    expect(withEvidence.storyboard.map((f) => [f.seq, f.decisive])).toEqual([
      [0, false],
      [1, false],
      [2, true],
    ]);
    // Later frames: updates of the same case, never a second one.
    expect(new Set(sink.cases.map((c) => c.caseId))).toEqual(new Set([opened[0]!.caseId]));
    expect(sink.cases.map((c) => c.revision)).toEqual([...sink.cases.keys()].map((i) => i + 1));
    expect(sink.cases.at(-1)).toMatchObject({ type: 'case_closed', closure: { cause: 'stream_ended' } });
    expect(store.saved.at(-1)!.cases.map((c) => c.state)).toEqual(['closed']);
  });

  it('a signal on fewer than k of n frames opens nothing', async () => {
    const sink = new RecordingSink();
    const pattern = Array.from({ length: 20 }, (_, i) => (i % 3 === 0 ? explicit(0.95) : explicit(0.05)));
    await createStreamScreener(deps({ openSource: sourceOf(frames(20)).factory, sink, classifier: scripted(pattern) })).screen(job());
    expect(sink.cases).toEqual([]);
    expect(sink.escalations).toEqual([]);
  });

  it('publishes a kill-switch before its evidence is even asked for, and preserves the original for it', async () => {
    const sink = new RecordingSink();
    const order: string[] = [];
    const evidence = new MemoryEvidence();
    const store = evidence.store.bind(evidence);
    evidence.store = async (r) => {
      order.push('evidence');
      return store(r);
    };
    const killSwitch = sink.killSwitch.bind(sink);
    sink.killSwitch = async (e) => {
      order.push('kill');
      await killSwitch(e);
    };
    // The hash matcher reports a kill-list hit for every frame.
    const match = { list: 'confirmed', distance: 3, hash: 'f'.repeat(64), action: 'kill' as const };
    const matcher = {
      ready: true,
      match: () => [match],
      matchAny: () => [match],
      matchFrame: () => ({ matches: [match], negative: [], suppressed: [], videoFrames: [] }),
    };
    await createStreamScreener(deps({ openSource: sourceOf(frames(2)).factory, sink, matcher, evidence })).screen(job());
    expect(order).toEqual(['kill', 'evidence']);
    expect(evidence.requests[0]!.preserveOriginal).toBe(true);
    expect(sink.kills[0]).toMatchObject({ reason: 'hash_match', policy: { rule: 'kill_list_match' }, caseId: sink.cases[0]!.caseId });
  });

  it('continues the open cases a previous holder left in KV instead of opening new ones, and keeps them open on handover', async () => {
    const first = new RecordingSink();
    const store = new MemoryCases();
    const ac = new AbortController();
    await createStreamScreener(
      deps({ openSource: sourceOf(frames(6)).factory, sink: first, classifier: scripted([explicit(0.95)]), cases: store }),
    ).screen(job({ signal: ac.signal }));
    const handedOver = store.saved.at(-1)!;
    // Not closed: the first holder's run ended with its source here, so replay the state it saved before the close.
    const open = { ...handedOver, cases: handedOver.cases.map((c) => ({ ...c, state: 'open' as const, closure: undefined })) };

    const second = new RecordingSink();
    const shutdown = new AbortController();
    const classifier = scripted([explicit(0.95)]);
    const classify = classifier.classify.bind(classifier);
    // The worker shuts down (a handover, not an end) after its sixth frame.
    classifier.classify = async () => {
      const s = await classify(BENIGN);
      if (classifier.calls === 6) shutdown.abort(new AssignmentAbortedError('s1', 'shutdown'));
      return s;
    };
    let t = T0 + 60_000;
    const d = deps({
      openSource: sourceOf(frames(20)).factory,
      sink: second,
      classifier,
      cases: new MemoryCases(open),
      now: () => (t += 10),
    });
    expect(await createStreamScreener(d).screen(job({ runId: 'run-2', signal: shutdown.signal }))).toEqual({ kind: 'stopped' });
    expect(classifier.calls).toBe(6);
    const caseId = handedOver.cases[0]!.caseId;
    expect(second.cases.map((c) => [c.type, c.caseId])).toEqual([['case_updated', caseId]]);
    expect(second.cases[0]!.revision).toBeGreaterThan(handedOver.cases[0]!.revision);
  });

  it('models that are not ready make the stream unscreened by its classifiers after policy.unclassifiedFramesToReport frames', async () => {
    const sink = new RecordingSink();
    const classifier = { ready: false, classify: async () => ({}) };
    await createStreamScreener(deps({ openSource: sourceOf(frames(12)).factory, sink, classifier })).screen(job());
    expect(sink.cases.filter((c) => c.type === 'case_opened').map((c) => [c.reasonClass, c.reasons[0]])).toEqual([
      ['unscreened', { kind: 'unscreened', code: 'models_not_ready', message: expect.any(String) }],
    ]);
  });

  it('applies a review decision to the live stream it screens: dismiss closes the case and the signal stays quiet', async () => {
    const sink = new RecordingSink();
    let live: LiveStream | undefined;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const input = frames(30);
    const source = {
      async *frames() {
        for (const [i, f] of input.entries()) {
          if (i === 10) await gate;
          yield f;
        }
      },
      async stop() {},
    };
    const d = deps({
      openSource: () => source,
      sink,
      classifier: scripted([explicit(0.95)]),
      live: { register: (_id, s) => ((live = s), () => (live = undefined)) },
    });
    const run = createStreamScreener(d).screen(job());
    await new Promise((r) => setTimeout(r, 50));
    const caseId = sink.cases[0]!.caseId;
    const decision = ReviewDecisionSchema.parse({
      schemaVersion: 1,
      type: 'review_decision',
      decisionId: 'd-1',
      caseId,
      streamId: 's1',
      decision: 'dismiss',
      reviewer: 'alice',
      decidedAt: '2026-01-01T00:00:00Z',
      source: 'cli',
    });
    const ack = await live!.review(decision);
    expect(ack).toMatchObject({ result: 'applied', caseState: { state: 'closed', suppressedUntil: expect.any(String) } });
    release();
    await run;
    expect(live).toBeUndefined();
    // Frames 10-29 keep the signal: no new case within the suppression time.
    expect(sink.cases.filter((c) => c.type === 'case_opened')).toHaveLength(1);
    expect(sink.cases.filter((c) => c.type === 'case_closed').map((c) => c.closure.resolution)).toEqual(['dismissed']);
  });
});
