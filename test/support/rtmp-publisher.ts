/**
 * An encoder publishing a synthetic stream to an RTMP server (nginx-rtmp here), as a
 * broadcaster's OBS would: ffmpeg in real time (-re), a lavfi pattern that can switch to a benign
 * image after a few seconds. It records when it connected and when the server cut it off.
 */
import { cutLifeline, hasExited, spawnWithLifeline, terminate, type LifelineChild } from '../../src/worker/sampler/lifeline.js';
import { defaultFfmpegPath, encoderArgs, type LiveSourceOptions } from './live-source.js';

export interface RtmpPublisher {
  readonly url: string;
  /** Wall-clock ms when ffmpeg was started. */
  readonly startedAt: number;
  /** Resolves when ffmpeg exits: its code, when, and its last error lines. */
  readonly exited: Promise<{ readonly code: number | null; readonly at: number; readonly stderr: string }>;
  alive(): boolean;
  stop(): Promise<void>;
}

export function startRtmpPublisher(url: string, opts: Omit<LiveSourceOptions, 'kind' | 'port' | 'streamKey'> = {}): RtmpPublisher {
  const startedAt = Date.now();
  // Exit on the first write error rather than buffering: a dropped publisher ends at once.
  const child: LifelineChild = spawnWithLifeline(opts.ffmpegPath ?? defaultFfmpegPath(), [...encoderArgs(opts), '-f', 'flv', url]);
  let stderr = '';
  child.stdout.resume();
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise<{ code: number | null; at: number; stderr: string }>((resolve) => {
    child.on('close', (code) => {
      cutLifeline(child);
      resolve({ code, at: Date.now(), stderr });
    });
  });
  return {
    url,
    startedAt,
    exited,
    alive: () => !hasExited(child),
    stop: async () => {
      if (!hasExited(child)) await terminate(child, { graceful: false, graceMs: 1_000 });
      await exited;
    },
  };
}
