import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { loadConfig, readEnv, type StreamscreenEnv } from '../../config/index.js';
import { createPdqHasher } from '../../hash/pdq-hasher.js';
import { formatVpdqLine } from '../../hash/parse-vpdq.js';
import { createSampler, resolveFfmpeg } from '../../worker/sampler/index.js';
import { createLogger } from './logger.js';
import { processIO, type CommandIO } from './io.js';

const USAGE = `usage: streamscreen vpdq FILE_OR_URL [--fps N] [--out FILE] [--frames-dir DIR] [--duration SECONDS]

Hashes a video file or a live stream in Meta's vPDQ format: one line per sampled frame,
frameNumber,quality,pdqHash,timestampSeconds (timestamps from the first frame, 3 decimals), so a
platform can build its own known-video lists from confirmed cases (hash lists with format vpdq).
Frames are sampled and decoded exactly as the worker samples a stream (sampler settings from the
config: size, scale mode), so a known video and the live stream showing it are hashed alike.

options:
  --fps N            frames per second to hash (default: the config's sampler.fps, 1)
  --out FILE         write the lines to FILE instead of stdout
  --frames-dir DIR   also write each hashed frame as a lossless PNG (frame-000000.png, ...):
                     'streamscreen hash' on them prints the same hashes
  --duration S       stop after S seconds of the source (a live stream otherwise runs until it ends)
  --config FILE      config file (default config/streamscreen.json, or STREAMSCREEN_CONFIG)
Exit status: 0 hashed, 1 the source could not be read, 2 usage.
`;

export async function run(argv: string[], io: CommandIO = processIO, env: StreamscreenEnv = readEnv()): Promise<number> {
  let values: { fps?: string; out?: string; 'frames-dir'?: string; duration?: string; config?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        fps: { type: 'string' },
        out: { type: 'string' },
        'frames-dir': { type: 'string' },
        duration: { type: 'string' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    io.stderr.write(`streamscreen vpdq: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const fail = (message: string): number => {
    io.stderr.write(`streamscreen vpdq: ${message}\n\n${USAGE}`);
    return 2;
  };
  if (positionals.length !== 1) return fail('expected one video file or stream URL');
  const fps = values.fps === undefined ? undefined : Number(values.fps);
  if (fps !== undefined && !(fps > 0 && fps <= 30)) return fail(`--fps must be a number in (0, 30], got '${values.fps}'`);
  const duration = values.duration === undefined ? undefined : Number(values.duration);
  if (duration !== undefined && !(duration > 0)) return fail(`--duration must be a positive number of seconds, got '${values.duration}'`);

  const loaded = loadConfig({
    env,
    ...(values.config ? { file: values.config } : {}),
    overrides: {
      sampler: {
        ...(fps === undefined ? {} : { fps }),
        // An operator hashing a file: as fast as it decodes, every sampled frame kept.
        allowFiles: true,
        fileRealtime: false,
        maxQueuedFrames: 100_000,
        maxRestarts: 0,
      },
    },
  });
  const logger = createLogger(loaded.config.log.level);
  const ffmpeg = await resolveFfmpeg({ envPath: loaded.ffmpeg.envPath, pathEnv: loaded.ffmpeg.pathEnv, logger });
  const framesDir = values['frames-dir'];
  if (framesDir) await mkdir(framesDir, { recursive: true });

  const ac = new AbortController();
  const sampler = createSampler({
    url: positionals[0]!,
    streamId: 'vpdq',
    ffmpeg,
    logger,
    options: loaded.stages.sampler,
    signal: ac.signal,
  });
  const hasher = createPdqHasher();
  const lines: string[] = [];
  let first: number | undefined;
  try {
    for await (const frame of sampler.frames()) {
      first ??= frame.pts;
      const seconds = frame.pts - first;
      if (duration !== undefined && seconds > duration) break;
      const { hash, quality } = hasher.hash(frame);
      lines.push(formatVpdqLine(frame.seq, quality, hash, seconds));
      if (framesDir) {
        const png = await sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } })
          .png()
          .toBuffer();
        await writeFile(join(framesDir, `frame-${String(frame.seq).padStart(6, '0')}.png`), png);
      }
    }
  } catch (err) {
    io.stderr.write(`streamscreen vpdq: ${(err as Error).message}\n`);
    return 1;
  } finally {
    ac.abort();
    await sampler.stop();
  }
  if (lines.length === 0) {
    io.stderr.write('streamscreen vpdq: the source gave no frames\n');
    return 1;
  }
  const text = `${lines.join('\n')}\n`;
  if (values.out) await writeFile(values.out, text);
  else io.stdout.write(text);
  return 0;
}
