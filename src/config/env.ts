/**
 * The environment variables streamscreen reads, all of them. Only config/ looks at process.env;
 * everything else receives values from here.
 */
export interface StreamscreenEnv {
  /** Path of the JSON config file; default config/streamscreen.json when it exists. */
  readonly STREAMSCREEN_CONFIG?: string;
  readonly NATS_URL?: string;
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
    STREAMSCREEN_HASH_LISTS: pick('STREAMSCREEN_HASH_LISTS'),
    FFMPEG_PATH: pick('FFMPEG_PATH'),
    LOG_LEVEL: pick('LOG_LEVEL'),
    PATH: pick('PATH'),
  };
}
