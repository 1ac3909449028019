/**
 * Stage options for tests that build a stage directly: config/ resolves the values a test
 * gives over its defaults, exactly as it does for the worker. No default is restated here.
 */
import { resolveConfig, type ConfigInput } from '../../src/config/index.js';
import type {
  ClassifierOptions,
  HashListSyncOptions,
  HashMatcherOptions,
  IngestOptions,
  PolicyOptions,
  PublisherOptions,
  SamplerOptions,
  ScreenerOptions,
} from '../../src/config/index.js';

export const samplerOptions = (sampler: ConfigInput['sampler'] = {}): SamplerOptions => resolveConfig({ sampler }).stages.sampler;

export const publisherOptions = (publish: ConfigInput['publish'] = {}): PublisherOptions => resolveConfig({ publish }).stages.publisher;

export const matcherOptions = (hash: ConfigInput['hash'] = {}): HashMatcherOptions => resolveConfig({ hash }).stages.matcher;

export const hashListSyncOptions = (objectStore: NonNullable<ConfigInput['hash']>['objectStore'] = {}): HashListSyncOptions =>
  resolveConfig({ hash: { objectStore } }).stages.hashListSync;

export const classifierOptions = (classify: ConfigInput['classify'] = {}): ClassifierOptions =>
  resolveConfig({ classify }).stages.classifier;

export const ingestOptions = (ingest: ConfigInput['ingest'] = {}, worker: ConfigInput['worker'] = {}): IngestOptions =>
  resolveConfig({ ingest, worker }).stages.ingest;

export const screenerOptions = (pipeline: ConfigInput['pipeline'] = {}, hash: ConfigInput['hash'] = {}): ScreenerOptions =>
  resolveConfig({ pipeline, hash }).stages.screener;

export const policyOptions = (policy: ConfigInput['policy'] = {}): PolicyOptions => resolveConfig({ policy }).stages.policy;
