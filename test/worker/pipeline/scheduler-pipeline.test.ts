/**
 * The shared inference scheduler on real processes: two streams read by real ffmpeg samplers
 * (files paced in real time, as live sources are), the real PDQ hasher and matcher, and the
 * composite classifier on ONNX Runtime with the tiny test models, one scheduler for both
 * streams. Stream A's inference is made slow (its classification is held at a gate the test
 * opens; everything behind the gate is the real classifier): stream B's listed picture is still
 * killed at once, B's frames waiting for the classifiers meanwhile are superseded by newer ones
 * and counted, and once A's inference finishes B's frames are classified again.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHooks } from '../../../src/domain/hooks.js';
import type { RawFrame } from '../../../src/domain/frame.js';
import { pdqToHex } from '../../../src/domain/pdq.js';
import { createHashMatcher, type HashMatcherService } from '../../../src/hash/hash-matcher.js';
import { indexParsedList } from '../../../src/hash/load-list.js';
import { parseHashList } from '../../../src/hash/parse-hashlist.js';
import { createPdqHasher } from '../../../src/hash/pdq-hasher.js';
import { createMetrics } from '../../../src/metrics/metrics.js';
import { workerMetricsListeners } from '../../../src/worker/app/worker-metrics.js';
import { openClassifier } from '../../../src/worker/classify/classifier.js';
import type { Classifier } from '../../../src/worker/classify/types.js';
import type { WorkerEvents } from '../../../src/worker/events.js';
import { createStreamScreener } from '../../../src/worker/pipeline/stream-screener.js';
import { probeFfmpeg, type FfmpegBinary } from '../../../src/worker/sampler/ffmpeg-binary.js';
import { createSampler } from '../../../src/worker/sampler/index.js';
import { createInferenceScheduler } from '../../../src/worker/schedule/index.js';
import { testFaceAge, writeSignalModels } from '../../support/signal-models.js';
import { classifierOptions, matcherOptions, policyOptions, samplerOptions, screenerOptions } from '../../support/stage-options.js';
import { job, LISTED, RecordingSink } from './support.js';

const run = promisify(execFile);
const hasher = createPdqHasher();
let dir: string;
let ffmpeg: FfmpegBinary;
let classifier: Classifier;
// Live pacing (-re), 2 frames a second, every frame decoded: a 6 s clip gives ~12 frames over 6 s.
const sampler = samplerOptions({ allowFiles: true, fileRealtime: true, decode: 'all', fps: 2 });
const logger = pino({ level: 'silent' });

const openSource = ({ streamId, url, signal }: { streamId: string; url: string; signal: AbortSignal }) =>
  createSampler({ url, streamId, signal, ffmpeg, logger, options: sampler });

/** The first frame the sampler delivers from `file`, read as fast as it decodes. */
async function firstFrame(file: string): Promise<RawFrame> {
  const ac = new AbortController();
  const s = createSampler({
    url: file,
    streamId: 'probe',
    signal: ac.signal,
    ffmpeg,
    logger,
    options: { ...sampler, fileRealtime: false },
  });
  for await (const f of s.frames()) {
    ac.abort();
    await s.stop();
    return f;
  }
  throw new Error(`no frame from ${file}`);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'streamscreen-sched-'));
  ffmpeg = await probeFfmpeg('/usr/bin/ffmpeg', 'path');
  classifier = await openClassifier({ faceAge: testFaceAge, options: classifierOptions({ manifestPath: await writeSignalModels() }) });
}, 60_000);

afterAll(async () => {
  await classifier?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('one inference scheduler shared by several streams', () => {
  it("a slow inference on stream A delays neither stream's hash check: B's listed picture is killed while A's frame is still held, and B's waiting frames are superseded and counted", async () => {
    // Stream A: a moving test pattern. Stream B: the (synthetic) listed picture, held still.
    const clipA = join(dir, 'a.mkv');
    await run('/usr/bin/ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=160x120:rate=10:duration=6',
      '-c:v',
      'ffv1',
      '-y',
      clipA,
    ]);
    const png = join(dir, 'listed.png');
    await sharp(LISTED.data, { raw: { width: LISTED.width, height: LISTED.height, channels: 3 } })
      .png()
      .toFile(png);
    const clipB = join(dir, 'b.mkv');
    await run('/usr/bin/ffmpeg', ['-v', 'error', '-loop', '1', '-i', png, '-t', '6', '-r', '10', '-c:v', 'ffv1', '-y', clipB]);
    // The kill list holds B's picture as the sampler delivers it.
    const listed = pdqToHex(hasher.hash(await firstFrame(clipB)).hash);
    const matcher: HashMatcherService = createHashMatcher(matcherOptions());
    const parsed = await parseHashList([new TextEncoder().encode(`${listed}\n`)], 'confirmed.txt');
    matcher
      .source('test')
      .replaceAll([await indexParsedList(parsed, { id: 'confirmed', action: 'kill', label: 'case-1', origin: 'test' })]);

    const metrics = createMetrics({ defaultMetrics: false });
    let superseded = 0;
    let openGate!: () => void;
    const gate = new Promise<void>((r) => (openGate = r));
    let gateOpen = false;
    const classifiedAfterGate: string[] = [];
    const events = createHooks<WorkerEvents>(undefined, workerMetricsListeners(metrics), {
      'pipeline.shed': ({ reason }) => {
        // Once B has had frames superseded behind A's held inference, A's inference may finish.
        if (reason === 'superseded' && ++superseded >= 2 && !gateOpen) {
          gateOpen = true;
          openGate();
        }
      },
      'pipeline.signals': ({ streamId }) => {
        if (gateOpen) classifiedAfterGate.push(streamId);
      },
    });
    const options = screenerOptions({ frameBudgetMs: 60_000 });
    let heldA = 0;
    const scheduler = createInferenceScheduler({
      // The real classifier; stream A's first frame is held first (a slow inference).
      classify: async (frame) => {
        if (frame.streamId === 'A' && heldA++ === 0) await gate;
        return classifier.classify(frame);
      },
      options: { ...options.inference, frameBudgetMs: options.frameBudgetMs },
      events,
      logger,
    });
    const sink = new RecordingSink();
    let killedWhileHeld: boolean | undefined;
    sink.onKill = () => (killedWhileHeld = !gateOpen);
    const screener = createStreamScreener({
      workerId: 'w1',
      logger,
      events,
      openSource,
      hasher,
      matcher,
      classifier,
      scheduler,
      sink,
      policy: policyOptions(),
      options,
    });
    const screenA = screener.screen(job({ start: { streamId: 'A', url: clipA, metadata: {} } }));
    // B starts a moment later, so A's first frame is the one holding the classifiers.
    await new Promise((r) => setTimeout(r, 300));
    const screenB = screener.screen(job({ start: { streamId: 'B', url: clipB, metadata: {} } }));
    expect(await screenB).toEqual({ kind: 'source_ended' });
    expect(await screenA).toEqual({ kind: 'source_ended' });
    await scheduler.close();

    expect(sink.kills.map((k) => [k.streamId, k.match?.list])).toEqual([['B', 'confirmed']]);
    expect(killedWhileHeld).toBe(true);
    // The hash decision did not wait for the held inference (60 s budget; the gate held for seconds).
    expect(sink.kills[0]!.latencyMs).toBeLessThan(1_000);
    const shed = await metrics.framesShed.get();
    expect(shed.values.find((v) => v.labels.reason === 'superseded')?.value).toBeGreaterThanOrEqual(2);
    // After A's inference finished, both streams were classified again.
    expect(new Set(classifiedAfterGate)).toEqual(new Set(['A', 'B']));
    const waits = await metrics.inferenceQueueWait.get();
    expect(waits.values.find((v) => v.metricName === 'streamscreen_inference_queue_wait_seconds_count')?.value).toBeGreaterThan(2);
  }, 60_000);
});
