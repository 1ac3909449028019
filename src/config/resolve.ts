import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../domain/errors.js';
import { ConfigSchema, type Config, type ConfigInput } from './schema.js';
import { capacityOptions, type CapacityOptions } from './stages/capacity.js';
import { classifierOptions, type ClassifierOptions } from './stages/classify.js';
import {
  hashListSyncOptions,
  matcherOptions,
  quarantineOptions,
  type HashListSyncOptions,
  type HashMatcherOptions,
  type QuarantineOptions,
} from './stages/hash.js';
import { ingestOptions, type IngestOptions } from './stages/ingest.js';
import { outboxOptions, type OutboxOptions } from './stages/outbox.js';
import { screenerOptions, type ScreenerOptions } from './stages/pipeline.js';
import { evidenceOptions, type EvidenceOptions } from './stages/evidence.js';
import { policyOptions, type PolicyOptions } from './stages/policy.js';
import { publisherOptions, type PublisherOptions } from './stages/publish.js';
import type { ReviewOptions } from './stages/review.js';
import type { SamplerOptions } from './stages/sampler.js';

/** Each stage's options, resolved once at load: stages take these and neither default nor check them again. */
export interface StageOptions {
  readonly ingest: IngestOptions;
  readonly sampler: SamplerOptions;
  readonly publisher: PublisherOptions;
  readonly outbox: OutboxOptions;
  readonly matcher: HashMatcherOptions;
  readonly hashListSync: HashListSyncOptions;
  readonly quarantine: QuarantineOptions;
  readonly classifier: ClassifierOptions;
  readonly screener: ScreenerOptions;
  readonly policy: PolicyOptions;
  readonly evidence: EvidenceOptions;
  readonly review: ReviewOptions;
  readonly capacity: CapacityOptions;
}

export interface ResolvedConfig {
  /** The configuration as given, every default filled in. */
  readonly config: Config;
  readonly stages: StageOptions;
}

export interface ResolveOptions {
  /** Relative hash list paths are resolved against this directory (the config file's). */
  readonly baseDir?: string;
  /** Where the input came from, for the error message (a file name). */
  readonly source?: string;
}

/**
 * Validates a configuration against the schema and resolves every stage's options from it.
 * Throws one ConfigError that lists every problem in every section, so an operator fixes a bad
 * deployment in one round. Tests call it with only the values they care about.
 */
export function resolveConfig(input: ConfigInput = {}, options: ResolveOptions = {}): ResolvedConfig {
  return resolveUntyped(input, options);
}

/** resolveConfig for what was read from a file and the environment, whose shape the schema checks. */
export function resolveUntyped(input: unknown, options: ResolveOptions = {}): ResolvedConfig {
  const parsed = ConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration${options.source ? ` in ${options.source}` : ''}`, issues);
  }
  const config = options.baseDir ? withListPathsFrom(parsed.data, options.baseDir) : parsed.data;
  return { config, stages: stageOptions(config, options.baseDir) };
}

/**
 * What each stage takes, from a validated configuration (the only look-ups: where the installed
 * package keeps its models, and the temp directory for an outbox given no directory). Relative
 * paths are taken from `baseDir` (the config file's folder).
 */
export function stageOptions(config: Config, baseDir?: string): StageOptions {
  return {
    ingest: ingestOptions(config.ingest, config.worker.maxStreams, config.nats.replicas),
    sampler: config.sampler,
    publisher: publisherOptions(config.publish, config.nats.replicas, config.policy),
    outbox: outboxOptions(config.outbox, config.nats.url, baseDir),
    matcher: matcherOptions(config.hash),
    hashListSync: hashListSyncOptions(config.hash, config.nats.replicas),
    quarantine: quarantineOptions(config.hash),
    classifier: classifierOptions(config.classify),
    screener: screenerOptions(config.pipeline, config.hash.dihedral, config.policy.nudityWithMinorEscalateAt),
    policy: policyOptions(config.policy),
    evidence: evidenceOptions(config.evidence),
    review: config.review,
    capacity: capacityOptions(config.worker.capacity, config.worker.admission, config.worker.maxStreams),
  };
}

function withListPathsFrom(config: Config, base: string): Config {
  const lists = config.hash.lists.map((l) => (isAbsolute(l.path) ? l : { ...l, path: resolve(base, l.path) }));
  return { ...config, hash: { ...config.hash, lists } };
}
