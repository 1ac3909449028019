export { ConfigSchema, CONFIG_DEFAULTS, type Config, type ConfigInput } from './schema.js';
export { IngestConfigSchema, type IngestConfig } from './stages/ingests.js';
export type { BridgeOptions } from './stages/bridge.js';
export type { EnforcerOptions } from './stages/enforcer.js';
export { consoleConfigIssues, ROLES, type ConsoleConfig, type ConsoleAccount, type WellnessSettings, type Role } from './console-schema.js';
export type { EvidenceSectionValue as EvidenceConfig } from './stages/evidence.js';
export type { MatcherConfig } from './matcher-schema.js';
export { resolveConfig, stageOptions, type ResolvedConfig, type ResolveOptions, type StageOptions } from './resolve.js';
export { loadConfig, listIdFromPath, DEFAULT_CONFIG_FILE, type LoadedConfig, type LoadConfigOptions } from './load.js';
export { readEnv, type StreamscreenEnv } from './env.js';
export { packageRoot, defaultManifestPath } from './package-root.js';
export {
  HashListConfigSchema,
  type HashListConfig,
  type HashMatcherOptions,
  type HashListSyncOptions,
  type QuarantineOptions,
  type VideoMatchOptions,
} from './stages/hash.js';
export type { IngestOptions } from './stages/ingest.js';
export type { SamplerOptions } from './stages/sampler.js';
export type { PublisherOptions } from './stages/publish.js';
export type { OutboxOptions } from './stages/outbox.js';
export type { ClassifierOptions } from './stages/classify.js';
export type { ScreenerOptions } from './stages/pipeline.js';
export type { PolicyOptions } from './stages/policy.js';
export type { EvidenceOptions } from './stages/evidence.js';
export type { ReviewOptions } from './stages/review.js';
export type { CapacityOptions, AdmissionMode } from './stages/capacity.js';
