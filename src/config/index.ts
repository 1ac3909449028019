export {
  ConfigSchema,
  HashListConfigSchema,
  IngestConfigSchema,
  type Config,
  type ConfigInput,
  type HashListConfig,
  type IngestConfig,
} from './schema.js';
export { loadConfig, listIdFromPath, DEFAULT_CONFIG_FILE, type LoadedConfig, type LoadConfigOptions } from './load.js';
export { readEnv, type StreamscreenEnv } from './env.js';
