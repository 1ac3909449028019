/**
 * The load benchmark's inputs, made once and kept in the system's temp directory between runs:
 * a 720p30 H.264 clip like a streamer's (noise so it does not compress to nothing, B-frames, a
 * keyframe every 2 s, 3 Mbit/s) and a kill list of random PDQ hashes.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
export const CACHE_DIR = join(tmpdir(), 'streamscreen-bench-load');

export interface ClipSpec {
  readonly seconds: number;
  readonly gopSeconds: number;
}

/** The clip as FLV (what RTMP carries), so publishers copy it without remuxing. */
export async function ensureClip(ffmpeg: string, spec: ClipSpec): Promise<string> {
  await mkdir(CACHE_DIR, { recursive: true });
  const path = join(CACHE_DIR, `clip-720p30-3M-gop${spec.gopSeconds}s-${spec.seconds}s.flv`);
  if (existsSync(path)) return path;
  const gop = String(30 * spec.gopSeconds);
  const tmp = `${path}.part.flv`;
  await execFileP(
    ffmpeg,
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=1280x720:rate=30:duration=${spec.seconds},noise=alls=12:allf=t`,
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-bf',
      '2',
      '-g',
      gop,
      '-keyint_min',
      gop,
      '-sc_threshold',
      '0',
      '-b:v',
      '3M',
      '-maxrate',
      '3M',
      '-bufsize',
      '6M',
      '-pix_fmt',
      'yuv420p',
      tmp,
    ],
    { timeout: 600_000 },
  );
  await rename(tmp, path);
  return path;
}

/** `count` random PDQ hashes, one per line (the text list format), none near a test frame's. */
export async function ensureHashList(count: number): Promise<string> {
  await mkdir(CACHE_DIR, { recursive: true });
  const path = join(CACHE_DIR, `kill-list-${count}.txt`);
  if (existsSync(path)) return path;
  const tmp = `${path}.part`;
  const out = createWriteStream(tmp);
  const chunk = 10_000;
  for (let done = 0; done < count; done += chunk) {
    const n = Math.min(chunk, count - done);
    const bytes = randomBytes(n * 32);
    let text = '';
    for (let i = 0; i < n; i++) text += `${bytes.subarray(i * 32, i * 32 + 32).toString('hex')}\n`;
    if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  await rename(tmp, path);
  return path;
}
