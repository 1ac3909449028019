/**
 * Synthetic live video sources on 127.0.0.1 for tests, the e2e suite and the demo: an ffmpeg
 * lavfi pattern (or a benign image) encoded with x264 in real time and served as
 *  - RTMP: ffmpeg itself is the server (`-listen 1`). A listen-mode ffmpeg serves one client and
 *    exits when it leaves, so it is respawned for the next one; each client's timeline starts at 0.
 *  - SRT (ffmpeg built with libsrt): MPEG-TS from an ffmpeg in SRT listener mode, served the same way.
 *  - HLS: ffmpeg writes 1 s segments to a temp dir, served by a node http server (any number of
 *    clients, survives consumer restarts: what worker-takeover tests need).
 * Every ffmpeg here runs under the sampler's lifeline wrapper, so none outlives a crashed test run.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cutLifeline,
  hasExited,
  killGroup,
  spawnWithLifeline,
  terminate as stopRun,
  type LifelineChild,
} from '../../src/worker/sampler/lifeline.js';
import { eventually } from './eventually.js';
import { freePort } from './free-port.js';

export interface LiveSourceOptions {
  /** Default `rtmp`. */
  kind?: 'rtmp' | 'hls' | 'srt';
  /** Encoder binary. Default: /usr/bin/ffmpeg when present, else the bundled static build. */
  ffmpegPath?: string;
  /** Default 320x240 at 15 fps, a keyframe every second. */
  width?: number;
  height?: number;
  fps?: number;
  /** lavfi video source description, default `testsrc2`. */
  pattern?: string;
  /**
   * A filter applied to the pattern before encoding, e.g. a full-frame drawbox whose `enable`
   * expression switches a controlled signal on and off over time (tests of k-of-n smoothing).
   */
  filter?: string;
  /** A benign image to show (e.g. a file from ../shared/pdq-vectors/decoded/). */
  image?: string;
  /** Seconds between keyframes; default 1. */
  gopSeconds?: number;
  /** Seconds into each session at which `image` replaces the pattern; 0 (default) shows it from the start. */
  imageAfterSec?: number;
  /** A video file to play instead of a pattern (re-encoded at width x height), from `videoStartSec` for `videoSeconds`. */
  video?: string;
  videoStartSec?: number;
  videoSeconds?: number;
  /** RTMP stream key (path); default `stream`. */
  streamKey?: string;
  port?: number;
}

export interface LiveSource {
  readonly kind: 'rtmp' | 'hls' | 'srt';
  readonly url: string;
  readonly port: number;
  /** Process group of the current encoder (its lifeline wrapper), if one runs. */
  readonly pid: number | undefined;
  /** Clients served so far (RTMP sessions, HLS playlist requests). */
  readonly sessions: number;
  /** The source disappears for `ms` (encoder killed, HLS answers 503), then comes back. */
  outage(ms: number): Promise<void>;
  /** Freezes the encoder (SIGSTOP): connections stay open but nothing flows. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export function defaultFfmpegPath(): string {
  if (existsSync('/usr/bin/ffmpeg')) return '/usr/bin/ffmpeg';
  return (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
}

export async function startLiveSource(opts: LiveSourceOptions = {}): Promise<LiveSource> {
  const kind = opts.kind ?? 'rtmp';
  return kind === 'hls' ? startHls(opts) : startListener(kind, opts);
}

/** The real-time x264 encoder of a synthetic source (lavfi pattern, optionally a benign image later), without its output. */
export function encoderArgs(opts: LiveSourceOptions): string[] {
  const w = opts.width ?? 320;
  const h = opts.height ?? 240;
  const fps = opts.fps ?? 15;
  const input = opts.video
    ? [
        ...(opts.videoStartSec ? ['-ss', String(opts.videoStartSec)] : []),
        ...(opts.videoSeconds ? ['-t', String(opts.videoSeconds)] : []),
        '-re',
        '-i',
        opts.video,
      ]
    : ['-re', '-f', 'lavfi', '-i', `${opts.pattern ?? 'testsrc2'}=size=${w}x${h}:rate=${fps}`];
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', ...input];
  const extra = opts.filter ? `${opts.filter},` : '';
  let filter = opts.video ? `[0:v]scale=${w}:${h},fps=${fps},${extra}format=yuv420p[v]` : `[0:v]${extra}format=yuv420p[v]`;
  if (opts.image) {
    args.push('-re', '-loop', '1', '-framerate', String(fps), '-i', opts.image);
    const after = opts.imageAfterSec ?? 0;
    filter = `[1:v]scale=${w}:${h},format=yuv420p[img];[0:v][img]overlay=eof_action=repeat:enable='gte(t,${after})',format=yuv420p[v]`;
  }
  args.push(
    '-filter_complex',
    filter,
    '-map',
    '[v]',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-tune',
    'zerolatency',
    // A keyframe every second (by default) so a sampler joining mid-stream decodes within a second.
    '-g',
    String(Math.round(fps * (opts.gopSeconds ?? 1))),
    '-keyint_min',
    String(Math.round(fps * (opts.gopSeconds ?? 1))),
    '-sc_threshold',
    '0',
  );
  return args;
}

function spawnEncoder(path: string, args: string[], onExit: (code: number | null, stderr: string) => void): LifelineChild {
  const child = spawnWithLifeline(path, args);
  let stderr = '';
  child.stdout.resume();
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 8000) stderr += d;
  });
  child.on('close', (code) => {
    cutLifeline(child);
    onExit(code, stderr);
  });
  return child;
}

async function terminate(child: LifelineChild | undefined): Promise<void> {
  if (!child || hasExited(child)) return;
  // A paused (SIGSTOPped) encoder cannot act on a signal until it runs again.
  killGroup(child, 'SIGCONT');
  await stopRun(child, { graceful: false, graceMs: 1_000 });
}

/**
 * True once something listens on 127.0.0.1:port, read from /proc: a probe connection would be
 * the one client a listen-mode ffmpeg serves. TCP: a socket in LISTEN (0A), or already
 * ESTABLISHED (01) on that local port, since ffmpeg closes its listening socket the moment a
 * waiting client gets in; UDP (SRT): bound.
 */
async function listening(port: number, proto: 'tcp' | 'udp'): Promise<boolean> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const table = await readFile(`/proc/net/${proto}`, 'utf8').catch(() => '');
  return table.split('\n').some((l) => {
    const f = l.trim().split(/\s+/);
    return f[1]?.endsWith(`:${hexPort}`) && (proto === 'udp' || f[3] === '0A' || f[3] === '01');
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  await eventually(async () => (await check()) || undefined, timeoutMs, `live source: ${what}`);
}

async function startListener(kind: 'rtmp' | 'srt', opts: LiveSourceOptions): Promise<LiveSource> {
  const ffmpeg = opts.ffmpegPath ?? defaultFfmpegPath();
  const port = opts.port ?? (await freePort());
  const proto = kind === 'rtmp' ? 'tcp' : 'udp';
  const url = kind === 'rtmp' ? `rtmp://127.0.0.1:${port}/live/${opts.streamKey ?? 'stream'}` : `srt://127.0.0.1:${port}`;
  const args =
    kind === 'rtmp'
      ? [...encoderArgs(opts), '-f', 'flv', '-listen', '1', url]
      : [...encoderArgs(opts), '-f', 'mpegts', `srt://127.0.0.1:${port}?mode=listener`];
  let child: LifelineChild | undefined;
  let stopped = false;
  let down = false;
  let sessions = 0;
  let lastError = '';

  const launch = (): void => {
    const c = spawnEncoder(ffmpeg, args, (_code, stderr) => {
      if (stderr.trim()) lastError = stderr.trim();
      if (child === c) child = undefined;
      sessions++;
      // The client left (or was cut off): serve the next one.
      if (!stopped && !down) launch();
    });
    child = c;
  };
  launch();
  await waitFor(`${kind} listener on ${port}${lastError ? ` (${lastError})` : ''}`, () => listening(port, proto));

  return {
    kind,
    url,
    port,
    get pid() {
      return child?.pid;
    },
    get sessions() {
      return sessions;
    },
    async outage(ms) {
      down = true;
      await terminate(child);
      await new Promise((r) => setTimeout(r, ms));
      down = false;
      if (!stopped) {
        launch();
        await waitFor(`${kind} listener on ${port}`, () => listening(port, proto));
      }
    },
    pause() {
      if (child) killGroup(child, 'SIGSTOP');
    },
    resume() {
      if (child) killGroup(child, 'SIGCONT');
    },
    async stop() {
      stopped = true;
      if (child) killGroup(child, 'SIGCONT');
      await terminate(child);
    },
  };
}

async function startHls(opts: LiveSourceOptions): Promise<LiveSource> {
  const ffmpeg = opts.ffmpegPath ?? defaultFfmpegPath();
  const dir = await mkdtemp(join(tmpdir(), 'streamscreen-hls-'));
  let child: LifelineChild | undefined;
  let stopped = false;
  let down = false;
  let sessions = 0;
  let generation = 0;

  const launch = async (): Promise<void> => {
    // A fresh encoder restarts segment numbering: start from an empty directory.
    for (const f of await readdir(dir)) await rm(join(dir, f), { force: true });
    generation++;
    const args = [
      ...encoderArgs(opts),
      '-f',
      'hls',
      '-hls_time',
      '1',
      '-hls_list_size',
      '6',
      '-hls_flags',
      'delete_segments',
      '-hls_segment_filename',
      join(dir, `g${generation}-%05d.ts`),
      join(dir, 'index.m3u8'),
    ];
    const c = spawnEncoder(ffmpeg, args, () => {
      if (child === c) child = undefined;
    });
    child = c;
    await waitFor('the first HLS segment', async () => /\.ts\s*$/m.test(await readFile(join(dir, 'index.m3u8'), 'utf8').catch(() => '')));
  };

  const server: Server = createServer((req, res) => {
    const name = /^\/live\/([\w.-]+)$/.exec(req.url ?? '')?.[1];
    if (down) {
      res.writeHead(503).end();
      return;
    }
    if (!name || name.startsWith('.')) {
      res.writeHead(404).end();
      return;
    }
    const file = join(dir, name);
    void stat(file)
      .then(async () => {
        const body = await readFile(file);
        if (name.endsWith('.m3u8')) sessions++;
        res.writeHead(200, {
          'content-type': name.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/mp2t',
          'cache-control': 'no-cache',
        });
        res.end(body);
      })
      .catch(() => res.writeHead(404).end());
  });
  const port = opts.port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  try {
    await launch();
  } catch (err) {
    await terminate(child);
    server.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    kind: 'hls',
    url: `http://127.0.0.1:${port}/live/index.m3u8`,
    port,
    get pid() {
      return child?.pid;
    },
    get sessions() {
      return sessions;
    },
    async outage(ms) {
      down = true;
      await terminate(child);
      await new Promise((r) => setTimeout(r, ms));
      if (!stopped) await launch();
      down = false;
    },
    pause() {
      if (child) killGroup(child, 'SIGSTOP');
    },
    resume() {
      if (child) killGroup(child, 'SIGCONT');
    },
    async stop() {
      stopped = true;
      if (child) killGroup(child, 'SIGCONT');
      await terminate(child);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
