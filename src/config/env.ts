/**
 * The environment variables streamscreen reads, all of them. Only config/ looks at process.env;
 * everything else receives values from here.
 */
export interface StreamscreenEnv {
  /** Path of the JSON config file; default config/streamscreen.json when it exists. */
  readonly STREAMSCREEN_CONFIG?: string;
  readonly NATS_URL?: string;
  /** NATS login secrets, for deployments that inject them as variables rather than files. */
  readonly NATS_USER?: string;
  readonly NATS_PASSWORD?: string;
  readonly NATS_TOKEN?: string;
  /** Paths of a .creds file / NKey seed file. */
  readonly NATS_CREDS?: string;
  readonly NATS_NKEY_SEED_FILE?: string;
  /** Comma-separated hash list files; each becomes a `kill` list named after its file. */
  readonly STREAMSCREEN_HASH_LISTS?: string;
  readonly FFMPEG_PATH?: string;
  readonly LOG_LEVEL?: string;
  readonly PATH?: string;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): StreamscreenEnv {
  const pick = (name: keyof StreamscreenEnv): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v;
  };
  return {
    STREAMSCREEN_CONFIG: pick('STREAMSCREEN_CONFIG'),
    NATS_URL: pick('NATS_URL'),
    NATS_USER: pick('NATS_USER'),
    NATS_PASSWORD: pick('NATS_PASSWORD'),
    NATS_TOKEN: pick('NATS_TOKEN'),
    NATS_CREDS: pick('NATS_CREDS'),
    NATS_NKEY_SEED_FILE: pick('NATS_NKEY_SEED_FILE'),
    STREAMSCREEN_HASH_LISTS: pick('STREAMSCREEN_HASH_LISTS'),
    FFMPEG_PATH: pick('FFMPEG_PATH'),
    LOG_LEVEL: pick('LOG_LEVEL'),
    PATH: pick('PATH'),
  };
}
