import { describe, expect, it } from 'vitest';
import { DEFAULT_CLASSIFIER_OPTIONS } from '../../src/worker/classify/index.js';
import { DEFAULT_CHALLENGE_AGE } from '../../src/worker/policy/possible-minor.js';
import { ConfigSchema } from '../../src/config/index.js';
import { DEFAULT_MAX_DISTANCE, DEFAULT_MIN_QUALITY } from '../../src/worker/hash/hash-matcher.js';
import { DEFAULT_INGEST_OPTIONS } from '../../src/worker/intake/index.js';
import { DEFAULT_PUBLISHER_OPTIONS } from '../../src/worker/publish/index.js';
import { DEFAULT_SAMPLER_OPTIONS } from '../../src/worker/sampler/index.js';

// Operators' defaults live in config/schema.ts. Stages keep fallbacks of their own so they can be
// used directly (tests, scripts); wherever the two overlap they must agree, or a worker would
// behave differently from a stage tested on its own.
describe('stage defaults agree with the config defaults', () => {
  const config = ConfigSchema.parse({});

  it('sampler', () => {
    const {
      fps,
      width,
      height,
      scaleMode,
      decode,
      maxKeyframeIntervalMs,
      allowFiles,
      rwTimeoutMs,
      stallTimeoutMs,
      maxRestarts,
      backoffBaseMs,
      backoffMaxMs,
    } = DEFAULT_SAMPLER_OPTIONS;
    expect(config.sampler).toEqual({
      fps,
      width,
      height,
      scaleMode,
      decode,
      maxKeyframeIntervalMs,
      allowFiles,
      rwTimeoutMs,
      stallTimeoutMs,
      maxRestarts,
      backoffBaseMs,
      backoffMaxMs,
    });
  });

  it('ingest', () => {
    expect(config.ingest).toEqual({ ackWaitMs: DEFAULT_INGEST_OPTIONS.ackWaitMs, leaseTtlMs: DEFAULT_INGEST_OPTIONS.leaseTtlMs });
    expect(config.worker.maxStreams).toBe(DEFAULT_INGEST_OPTIONS.maxConcurrentStreams);
  });

  it('publisher', () => {
    expect(config.publish).toEqual({
      retryBaseMs: DEFAULT_PUBLISHER_OPTIONS.retryInitialDelayMs,
      retryMaxMs: DEFAULT_PUBLISHER_OPTIONS.retryMaxDelayMs,
    });
  });

  it('hash matching', () => {
    expect(config.hash.maxDistance).toBe(DEFAULT_MAX_DISTANCE);
    expect(config.hash.minQuality).toBe(DEFAULT_MIN_QUALITY);
  });

  it('classifiers and the possible-minor rule', () => {
    expect(config.classify.intraOpThreads).toBe(DEFAULT_CLASSIFIER_OPTIONS.intraOpThreads);
    expect(config.classify.maxBatch).toBe(DEFAULT_CLASSIFIER_OPTIONS.maxBatch);
    expect(config.policy.challengeAge).toBe(DEFAULT_CHALLENGE_AGE);
  });
});
