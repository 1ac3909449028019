import { pino } from 'pino';
import { loadConfig, readEnv, type LoadedConfig } from '../../config/index.js';
import type { NatsConnectionSettings } from '../../nats/index.js';

/** The one-shot commands report errors on stderr themselves; the kit's connection log would be noise. */
export const silentLogger = pino({ level: 'silent' });

/** The flags that say which configuration and server a command uses. */
export interface TargetFlags {
  readonly config?: string;
  readonly 'nats-url'?: string;
}

/**
 * The configuration a worker would load (file, then the environment), with `--nats-url` winning:
 * so a command talks to the streams, buckets and subjects the workers use.
 */
export function commandConfig(
  flags: TargetFlags,
  env: Readonly<Record<string, string | undefined>>,
): { loaded: LoadedConfig; nats: NatsConnectionSettings } {
  const loaded = loadConfig({ env: readEnv(env), ...(flags.config ? { file: flags.config } : {}) });
  const url = flags['nats-url'];
  return { loaded, nats: url ? { ...loaded.nats, servers: url.split(',') } : loaded.nats };
}
