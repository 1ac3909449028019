import { existsSync, readFileSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { ConfigError } from '../domain/errors.js';
import { resolveUntyped, type ResolvedConfig } from './resolve.js';
import { readEnv, type StreamscreenEnv } from './env.js';

export const DEFAULT_CONFIG_FILE = 'config/streamscreen.json';

export interface LoadedConfig extends ResolvedConfig {
  /** The file that was read, if any. */
  readonly file?: string;
  /** What the sampler needs to find ffmpeg; passed on, never re-read from the environment. */
  readonly ffmpeg: { readonly envPath?: string; readonly pathEnv?: string };
}

export interface LoadConfigOptions {
  readonly env?: StreamscreenEnv;
  readonly cwd?: string;
  /** Explicit file (e.g. from a --config flag); wins over STREAMSCREEN_CONFIG. */
  readonly file?: string;
  /** Applied after the file and before the environment (CLI flags, tests). */
  readonly overrides?: Record<string, unknown>;
}

/**
 * Reads the config file, layers the environment on top, and resolves it (resolve.ts): validated
 * once, every problem reported together, each stage's options worked out before anything starts.
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const env = options.env ?? readEnv();
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.file ?? env.STREAMSCREEN_CONFIG;
  const file = explicit ? resolve(cwd, explicit) : existingDefault(cwd);

  let raw: Record<string, unknown> = file ? readJsonObject(file) : {};
  raw = deepMerge(raw, options.overrides ?? {});
  raw = applyEnv(raw, env, cwd);

  const resolved = resolveUntyped(raw, { baseDir: file ? resolve(file, '..') : cwd, ...(file ? { source: file } : {}) });
  return { ...resolved, file, ffmpeg: { envPath: env.FFMPEG_PATH, pathEnv: env.PATH } };
}

function existingDefault(cwd: string): string | undefined {
  const candidate = resolve(cwd, DEFAULT_CONFIG_FILE);
  return existsSync(candidate) ? candidate : undefined;
}

function readJsonObject(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}`, [], { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`, [], { cause: err });
  }
  if (!isPlainObject(value)) throw new ConfigError(`config file ${file} must hold a JSON object`);
  const { $schema: _ignored, ...rest } = value;
  return rest;
}

function applyEnv(raw: Record<string, unknown>, env: StreamscreenEnv, cwd: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  if (env.NATS_URL) out.nats = { ...asObject(out.nats), url: env.NATS_URL };
  if (env.LOG_LEVEL) out.log = { ...asObject(out.log), level: env.LOG_LEVEL };
  if (env.STREAMSCREEN_HASH_LISTS) {
    // The environment names files only; everything else about a list comes from the config file.
    const hash = asObject(out.hash);
    const configured: unknown[] = Array.isArray(hash.lists) ? (hash.lists as unknown[]) : [];
    const fromEnv = env.STREAMSCREEN_HASH_LISTS.split(',')
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => ({ id: listIdFromPath(p), path: resolve(cwd, p), action: 'kill' as const }));
    out.hash = { ...hash, lists: [...configured, ...fromEnv] };
  }
  return out;
}

/** `lists/ncmec-2026.txt` → `ncmec-2026`; characters a list id cannot hold become `_`. */
export function listIdFromPath(path: string): string {
  const name = basename(path, extname(path))
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .slice(0, 64);
  return name || 'list';
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asObject(v: unknown): Record<string, unknown> {
  return isPlainObject(v) ? v : {};
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k], v) : v;
  }
  return out;
}
