import { existsSync, readFileSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { ConfigError } from '../domain/errors.js';
import { resolveUntyped, type ResolvedConfig } from './resolve.js';
import { readEnv, type StreamscreenEnv } from './env.js';
import { resolveNatsSettings } from './nats.js';
import type { NatsConnectionSettings } from '../nats/connection.js';

export const DEFAULT_CONFIG_FILE = 'config/streamscreen.json';

export interface LoadedConfig extends ResolvedConfig {
  /** The file that was read, if any. */
  readonly file?: string;
  /** What the sampler needs to find ffmpeg; passed on, never re-read from the environment. */
  readonly ffmpeg: { readonly envPath?: string; readonly pathEnv?: string };
  /** How to reach NATS, secrets read from their files once, at load. */
  readonly nats: NatsConnectionSettings;
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

  const baseDir = file ? resolve(file, '..') : cwd;
  const resolved = resolveUntyped(raw, { baseDir, ...(file ? { source: file } : {}) });
  return {
    ...resolved,
    file,
    ffmpeg: { envPath: env.FFMPEG_PATH, pathEnv: env.PATH },
    nats: resolveNatsSettings(resolved.config.nats, baseDir),
  };
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
  const nats: Record<string, unknown> = { ...asObject(out.nats) };
  if (env.NATS_URL) nats.url = env.NATS_URL;
  if (env.NATS_USER) nats.user = env.NATS_USER;
  if (env.NATS_PASSWORD) nats.pass = env.NATS_PASSWORD;
  if (env.NATS_TOKEN) nats.token = env.NATS_TOKEN;
  if (env.NATS_CREDS) nats.credsFile = env.NATS_CREDS;
  if (env.NATS_NKEY_SEED_FILE) nats.nkeySeedFile = env.NATS_NKEY_SEED_FILE;
  out.nats = moveUrlCredentials(nats);
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

/**
 * `nats://user:pass@host` / `nats://token@host`: the client ignores userinfo, so it becomes the
 * login (explicit settings win) and the URL keeps only the server.
 */
function moveUrlCredentials(nats: Record<string, unknown>): Record<string, unknown> {
  if (typeof nats.url !== 'string' || !nats.url.includes('@')) return nats;
  const out = { ...nats };
  const servers = nats.url.split(',').map((raw) => {
    try {
      const u = new URL(raw.trim());
      if (!u.username && !u.password) return raw.trim();
      const user = decodeURIComponent(u.username);
      const pass = decodeURIComponent(u.password);
      if (pass) {
        out.user ??= user;
        out.pass ??= pass;
      } else if (user) {
        out.token ??= user;
      }
      u.username = '';
      u.password = '';
      return u.toString().replace(/\/$/, '');
    } catch {
      return raw.trim();
    }
  });
  out.url = servers.join(',');
  return out;
}
