export {
  ConfigSchema,
  HashListConfigSchema,
  type Config,
  type ConfigInput,
  type HashListConfig,
  type ConsoleConfig,
  type ConsoleAccount,
  type WellnessSettings,
} from './schema.js';
export { consoleConfigIssues, ROLES, type Role } from './console-schema.js';
export { loadConfig, listIdFromPath, DEFAULT_CONFIG_FILE, type LoadedConfig, type LoadConfigOptions } from './load.js';
export { readEnv, type StreamscreenEnv } from './env.js';
