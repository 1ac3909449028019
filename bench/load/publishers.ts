/**
 * One live source per stream: the clip looped for ever and copied (no re-encoding, so N sources
 * cost almost nothing) to the RTMP server, paced at its frame rate (-re). Each runs under the
 * sampler's lifeline wrapper, so none outlives the benchmark.
 */
import { cutLifeline, spawnWithLifeline, terminate, type LifelineChild } from '../../src/worker/sampler/lifeline.js';

export interface Publisher {
  readonly url: string;
  /**
   * Wall clock (ms) at which the source's timeline started: frame pts p was sent at about
   * startedAt + p * 1000 (-re paces by timestamps, and the loop keeps them increasing). Taken
   * just before the spawn, so source-to-decision times measured from it are, if anything, long.
   */
  readonly startedAt: number;
  stop(): Promise<void>;
}

export function startPublisher(ffmpeg: string, clip: string, url: string): Publisher {
  const startedAt = Date.now();
  const child: LifelineChild = spawnWithLifeline(ffmpeg, [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-re',
    '-stream_loop',
    '-1',
    '-i',
    clip,
    '-c',
    'copy',
    '-f',
    'flv',
    url,
  ]);
  child.stdout.resume();
  child.stderr.resume();
  child.on('close', () => cutLifeline(child));
  return { url, startedAt, stop: () => terminate(child, { graceful: false, graceMs: 1000 }) };
}
