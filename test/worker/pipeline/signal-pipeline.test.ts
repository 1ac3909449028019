/**
 * Recall stays honest: the real pipeline (ffmpeg sampler, PDQ, the composite classifier on
 * ONNX Runtime, policy with its default smoothing of 3 of 5) on clips whose classifier signal
 * the test controls. Tiny test models (test/support/signal-models.ts) read the frame's colour:
 * red frames are "explicit" with an adult, yellow ones "explicit" with a possible minor, the
 * testsrc2 pattern neither. Clips are drawn by ffmpeg's lavfi: a test pattern with a full-frame
 * colour box switched on by the second.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseOpened } from '../../../src/contracts/index.js';
import { openClassifier } from '../../../src/worker/classify/classifier.js';
import type { Classifier } from '../../../src/worker/classify/types.js';
import { createHashMatcher } from '../../../src/hash/hash-matcher.js';
import { createPdqHasher } from '../../../src/hash/pdq-hasher.js';
import { createStreamScreener } from '../../../src/worker/pipeline/stream-screener.js';
import { probeFfmpeg, type FfmpegBinary } from '../../../src/worker/sampler/ffmpeg-binary.js';
import { createSampler } from '../../../src/worker/sampler/index.js';
import { testFaceAge, writeSignalModels } from '../../support/signal-models.js';
import { classifierOptions, matcherOptions, policyOptions, samplerOptions, screenerOptions } from '../../support/stage-options.js';
import { job, RecordingSink } from './support.js';

const run = promisify(execFile);
let dir: string;
let ffmpeg: FfmpegBinary;
let classifier: Classifier;

/** A clip of `seconds` at 5 fps: testsrc2 with a full-frame `colour` box wherever `when` (of t, in seconds) is true. */
async function clip(name: string, seconds: number, colour: string, when: string): Promise<string> {
  const file = join(dir, `${name}.mkv`);
  const filter = `testsrc2=size=160x120:rate=5:duration=${seconds},drawbox=x=0:y=0:w=iw:h=ih:color=${colour}:t=fill:enable='${when}'`;
  await run('/usr/bin/ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', filter, '-c:v', 'ffv1', '-y', file]);
  return file;
}

/** Screens a clip at 1 fps (each sampled frame is one second of the clip) and returns what was published. */
async function screen(file: string): Promise<RecordingSink> {
  const sink = new RecordingSink();
  const logger = pino({ level: 'silent' });
  // Every sampled frame is classified: the clip is read as fast as it decodes, so the queue must not drop any.
  const sampler = samplerOptions({ allowFiles: true, fileRealtime: false, maxQueuedFrames: 64 });
  const screener = createStreamScreener({
    workerId: 'w1',
    logger,
    openSource: ({ streamId, url, signal }) => createSampler({ url, streamId, signal, ffmpeg, logger, options: sampler }),
    hasher: createPdqHasher(),
    matcher: createHashMatcher(matcherOptions()),
    classifier,
    sink,
    policy: policyOptions(),
    options: screenerOptions({ frameBudgetMs: 60_000, classifyEveryFrame: true }),
  });
  const outcome = await screener.screen(job({ start: { streamId: 's1', url: file, metadata: {} } }));
  expect(outcome).toEqual({ kind: 'source_ended' });
  return sink;
}

const opened = (sink: RecordingSink) => sink.cases.filter((c): c is CaseOpened => c.type === 'case_opened');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'streamscreen-signal-'));
  ffmpeg = await probeFfmpeg('/usr/bin/ffmpeg', 'path');
  classifier = await openClassifier({ faceAge: testFaceAge, options: classifierOptions({ manifestPath: await writeSignalModels() }) });
}, 60_000);

afterAll(async () => {
  await classifier?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('screening pipeline with a controlled classifier signal', () => {
  it('a sustained explicit signal with an adult opens one normal case, and no more, however long it lasts', async () => {
    const sink = await screen(await clip('red', 10, 'red', 'gte(t,2)'));
    expect(opened(sink).map((c) => [c.reasonClass, c.priority, c.policy.rule, c.frame?.seq])).toEqual([
      ['classifier:explicit', 'normal', 'explicit', 4],
    ]);
    const reason = opened(sink)[0]!.reasons[0]!;
    expect(reason.kind === 'classifier' && reason.score).toBeGreaterThan(0.99);
    expect(sink.escalations).toHaveLength(1);
  }, 60_000);

  it('the same signal with a possible minor opens a critical case, with the apparent age', async () => {
    const sink = await screen(await clip('yellow', 8, 'yellow', 'gte(t,2)'));
    const [c] = opened(sink);
    expect(opened(sink)).toHaveLength(1);
    expect([c!.priority, c!.policy.rule]).toEqual(['critical', 'explicit_with_possible_minor']);
    const minor = c!.reasons.find((r) => r.kind === 'possible_minor');
    expect(minor?.kind === 'possible_minor' && minor.minAge).toBeCloseTo(15, 0);
    expect(sink.escalations.map((e) => e.priority)).toEqual(['critical']);
  }, 60_000);

  it('a signal on k of n frames (3 of every 5, alternating) escalates; on 2 of every 5 it does not', async () => {
    const three = await screen(await clip('every-other', 10, 'red', 'not(mod(floor(t),2))'));
    expect(opened(three).map((c) => c.frame?.seq)).toEqual([4]);
    const two = await screen(await clip('two-of-five', 15, 'red', 'eq(mod(floor(t),5),0)+eq(mod(floor(t),5),3)'));
    expect(two.cases).toEqual([]);
    expect(two.escalations).toEqual([]);
  }, 60_000);

  it('the test pattern alone (no signal) opens nothing', async () => {
    const sink = await screen(await clip('pattern', 8, 'red', '0'));
    expect(sink.cases).toEqual([]);
  }, 60_000);
});
