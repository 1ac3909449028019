import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { SourceError } from '../../domain/errors.js';
import type { Logger } from '../../domain/logger.js';

const execFileP = promisify(execFile);
const PROBE_TIMEOUT_MS = 10_000;

export type FfmpegSource = 'env' | 'path' | 'bundled';

/** The ffmpeg every sampler of this worker runs, probed once at start. */
export interface FfmpegBinary {
  readonly path: string;
  readonly source: FfmpegSource;
  /** As printed by `ffmpeg -version`, e.g. `5.1.9-0+deb12u1` or `N-47683-g0e8eb07980-static`. */
  readonly version: string;
  /** Input protocols this build can read (`ffmpeg -protocols`); srt is absent from many builds. */
  readonly protocols: ReadonlySet<string>;
  /** `-fps_mode` exists (5.1+); older builds only have the now-deprecated `-vsync`. */
  readonly hasFpsMode: boolean;
}

export interface ResolveFfmpegOptions {
  /** FFMPEG_PATH. When set it must work: a broken explicit choice is an error, not a silent fallback. */
  envPath?: string;
  /** PATH, searched for `ffmpeg`. */
  pathEnv?: string;
  /** Where the chosen binary and its version are logged. */
  logger?: Logger;
  /** Locates the bundled static build; replaceable so tests can simulate its absence. */
  bundledPath?: () => string | undefined;
}

/**
 * Picks the ffmpeg binary: FFMPEG_PATH, then `ffmpeg` on PATH, then the @ffmpeg-installer static
 * build (2018, no SRT: a zero-setup fallback only). Throws SourceError('ffmpeg_missing') when
 * none of them runs.
 */
export async function resolveFfmpeg(options: ResolveFfmpegOptions = {}): Promise<FfmpegBinary> {
  const tried: string[] = [];
  let binary: FfmpegBinary | undefined;

  if (options.envPath) {
    try {
      binary = await probeFfmpeg(options.envPath, 'env');
    } catch (err) {
      throw new SourceError('ffmpeg_missing', `FFMPEG_PATH=${options.envPath} is not a working ffmpeg: ${messageOf(err)}`, {
        retryable: false,
        cause: err,
      });
    }
  }
  if (!binary && options.pathEnv) {
    const onPath = await findOnPath('ffmpeg', options.pathEnv);
    if (onPath) {
      try {
        binary = await probeFfmpeg(onPath, 'path');
      } catch (err) {
        tried.push(`${onPath} (from PATH): ${messageOf(err)}`);
      }
    } else {
      tried.push('no ffmpeg on PATH');
    }
  }
  if (!binary) {
    const bundled = (options.bundledPath ?? bundledFfmpegPath)();
    if (bundled) {
      try {
        binary = await probeFfmpeg(bundled, 'bundled');
      } catch (err) {
        tried.push(`${bundled} (@ffmpeg-installer/ffmpeg): ${messageOf(err)}`);
      }
    } else {
      tried.push('@ffmpeg-installer/ffmpeg is not installed for this platform');
    }
  }
  if (!binary) {
    throw new SourceError('ffmpeg_missing', `no working ffmpeg found; set FFMPEG_PATH or install ffmpeg. Tried: ${tried.join('; ')}`, {
      retryable: false,
    });
  }
  const log = { ffmpeg: binary.path, source: binary.source, version: binary.version, srt: binary.protocols.has('srt') };
  if (binary.source === 'bundled') {
    options.logger?.warn(log, 'using the bundled 2018 ffmpeg (no SRT, older decoders); set FFMPEG_PATH or install ffmpeg for production');
  } else {
    options.logger?.info(log, 'using ffmpeg');
  }
  return binary;
}

/** Runs `-version`, `-protocols` and `-h long` once to learn what this binary is and can do. */
export async function probeFfmpeg(path: string, source: FfmpegSource): Promise<FfmpegBinary> {
  const run = async (args: string[]): Promise<string> => {
    const { stdout, stderr } = await execFileP(path, ['-hide_banner', ...args], { timeout: PROBE_TIMEOUT_MS, maxBuffer: 4 << 20 });
    return `${stdout}\n${stderr}`;
  };
  const versionOut = await run(['-version']);
  const version = parseFfmpegVersion(versionOut);
  if (!version) throw new Error(`"${path} -version" did not print an ffmpeg version`);
  const [protocolsOut, helpOut] = await Promise.all([run(['-protocols']), run(['-h', 'long'])]);
  const protocols = parseInputProtocols(protocolsOut);
  if (!protocols.has('rtmp') || !protocols.has('http')) {
    throw new Error(`${path} cannot read rtmp or http (input protocols: ${[...protocols].join(',') || 'none'})`);
  }
  return { path, source, version, protocols, hasFpsMode: /^-fps_mode\b/m.test(helpOut) };
}

export function parseFfmpegVersion(output: string): string | undefined {
  return /^ffmpeg version (\S+)/m.exec(output)?.[1];
}

/** The names listed under "Input:" in `ffmpeg -protocols` (until "Output:"). */
export function parseInputProtocols(output: string): Set<string> {
  const m = /Input:\s*([\s\S]*?)(?:Output:|$)/.exec(output);
  return new Set((m?.[1] ?? '').split(/\s+/).filter(Boolean));
}

async function findOnPath(name: string, pathEnv: string): Promise<string | undefined> {
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

function bundledFfmpegPath(): string | undefined {
  try {
    const mod = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path?: unknown };
    return typeof mod.path === 'string' ? mod.path : undefined;
  } catch {
    // The package throws a plain string when its platform binary is missing.
    return undefined;
  }
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.message;
  return String(err);
}
