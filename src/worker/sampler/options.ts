import { ConfigError } from '../../domain/errors.js';
import { withDefaults } from '../../domain/options.js';
import type { DecodeSetting } from './decode-mode.js';

/**
 * Tuning for one stream's sampler. Every field has a default (DEFAULT_SAMPLER_OPTIONS); the lead
 * maps configuration onto a `Partial<SamplerOptions>`.
 */
export interface SamplerOptions {
  /** Frames per second handed to the pipeline (0 < fps <= 30). Default 1. */
  fps: number;
  /** Output frame size (see scaleMode). Default 512x512, PDQ's working size. */
  width: number;
  height: number;
  /**
   * `shrink` (default): a frame larger than width or height on either side is reduced to exactly
   * width x height (aspect not kept, as PDQ's reference does before hashing); a smaller frame is
   * delivered at its own size, since upscaling moves PDQ hashes (bench/bench-pdq-scale.ts measures it;
   * test/worker/hash/pdq-frame-size.test.ts holds these defaults to it).
   * Frame sizes can then differ between streams and change with the source: read them per frame.
   * `exact`: always width x height.
   */
  scaleMode: 'shrink' | 'exact';
  /** swscale algorithm for the downscale. Default `area` (averages source pixels, no aliasing). */
  scaleFlags: string;
  /**
   * How frames are picked at `fps`. `select` (default) emits the first frame of each 1/fps slot the
   * moment it is decoded. `fps` uses ffmpeg's fps filter, which holds each output frame until a
   * later input frame arrives; it is kept only so bench/measure-frame-age.ts can compare.
   */
  rateFilter: 'select' | 'fps';
  /**
   * Live input flags: decode after a minimal probe (`-probesize 32 -analyzeduration 0` for RTMP and
   * SRT; ffmpeg otherwise analyses 5 s of stream before the first frame) and `-flags low_delay`
   * (no frame threading in the decoder). Default true.
   */
  lowLatency: boolean;
  /** Decoder threads per ffmpeg. Default 1: a worker runs many streams, one core each is plenty at 1 fps. */
  threads: number;
  /**
   * Threads of the rawvideo "encoder" that writes frames to the pipe. Default 1. 0 lets ffmpeg
   * choose, which on 5.1 frame-threads it and holds every frame until the next one arrives (a full
   * 1/fps of extra age); kept only so bench/measure-frame-age.ts can show that.
   */
  encoderThreads: number;
  /** ffmpeg gives up on a network read or write after this long (`-rw_timeout`). Default 5000 ms. */
  rwTimeoutMs: number;
  /**
   * No frame within this long (from spawn, or since the previous frame) counts as a stall: ffmpeg is
   * killed and restarted. Must exceed the source's keyframe interval plus connect time. Default 10000 ms.
   */
  stallTimeoutMs: number;
  /** Consecutive failed attempts allowed before giving up with `source_failed`; reset once frames flow. Default 5. */
  maxRestarts: number;
  /** Restart delay: exponential from base, capped at max, with jitter. Defaults 500 ms and 15000 ms. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Frames kept for a consumer that is behind; beyond this the oldest is dropped (and counted). Default 2. */
  maxQueuedFrames: number;
  /** After SIGTERM, how long ffmpeg may take to exit before the whole process group is SIGKILLed. Default 1000 ms. */
  stopGraceMs: number;
  /** How long a finished frame may wait for its pts line on stderr before it is stamped with an estimate. Default 200 ms. */
  ptsWaitMs: number;
  /**
   * `keyframes`: decode keyframes only (a tenth of the decode cost; samples as often as the
   * stream has keyframes, capped at fps). `all`: decode every frame, sample at fps. `auto`
   * (default): keyframes while the stream's keyframe interval is <= maxKeyframeIntervalMs, else
   * all (decode-mode.ts decides, ffmpeg restarts on a switch).
   */
  decode: DecodeSetting;
  /** Longest keyframe interval `auto` samples on keyframes alone. Default 2000 ms. */
  maxKeyframeIntervalMs: number;
  /** Accept local file paths (for local testing only). Default false. */
  allowFiles: boolean;
  /** Read local files at their native frame rate (`-re`), as if live. Default true. */
  fileRealtime: boolean;
}

export const DEFAULT_SAMPLER_OPTIONS: Readonly<SamplerOptions> = Object.freeze({
  fps: 1,
  width: 512,
  height: 512,
  scaleMode: 'shrink',
  scaleFlags: 'area',
  rateFilter: 'select',
  lowLatency: true,
  threads: 1,
  encoderThreads: 1,
  rwTimeoutMs: 5_000,
  stallTimeoutMs: 10_000,
  maxRestarts: 5,
  backoffBaseMs: 500,
  backoffMaxMs: 15_000,
  maxQueuedFrames: 2,
  stopGraceMs: 1_000,
  ptsWaitMs: 200,
  decode: 'auto',
  maxKeyframeIntervalMs: 2_000,
  allowFiles: false,
  fileRealtime: true,
});

/** Defaults filled in and every value checked; all problems are reported at once. */
export function resolveSamplerOptions(partial: Partial<SamplerOptions> = {}): SamplerOptions {
  const o: SamplerOptions = withDefaults<SamplerOptions>(DEFAULT_SAMPLER_OPTIONS, partial);
  const issues: string[] = [];
  const check = (ok: boolean, msg: string): void => {
    if (!ok) issues.push(msg);
  };
  check(Number.isFinite(o.fps) && o.fps > 0 && o.fps <= 30, `fps must be in (0, 30], got ${o.fps}`);
  for (const k of ['width', 'height'] as const) {
    check(Number.isInteger(o[k]) && o[k] >= 8 && o[k] <= 4096, `${k} must be an integer in [8, 4096], got ${o[k]}`);
  }
  check(
    /^[a-z_+]+$/.test(o.scaleFlags),
    `scaleFlags must be swscale flag names like "area" or "bicubic+accurate_rnd", got ${JSON.stringify(o.scaleFlags)}`,
  );
  check(o.scaleMode === 'shrink' || o.scaleMode === 'exact', `scaleMode must be "shrink" or "exact", got ${JSON.stringify(o.scaleMode)}`);
  check(o.rateFilter === 'select' || o.rateFilter === 'fps', `rateFilter must be "select" or "fps", got ${JSON.stringify(o.rateFilter)}`);
  check(Number.isInteger(o.threads) && o.threads >= 0 && o.threads <= 64, `threads must be an integer in [0, 64], got ${o.threads}`);
  check(
    Number.isInteger(o.encoderThreads) && o.encoderThreads >= 0 && o.encoderThreads <= 64,
    `encoderThreads must be an integer in [0, 64], got ${o.encoderThreads}`,
  );
  for (const k of ['rwTimeoutMs', 'stallTimeoutMs', 'backoffBaseMs', 'backoffMaxMs', 'stopGraceMs'] as const) {
    check(Number.isFinite(o[k]) && o[k] > 0, `${k} must be a positive number of milliseconds, got ${o[k]}`);
  }
  check(
    o.decode === 'keyframes' || o.decode === 'all' || o.decode === 'auto',
    `decode must be "keyframes", "all" or "auto", got ${JSON.stringify(o.decode)}`,
  );
  check(
    Number.isFinite(o.maxKeyframeIntervalMs) && o.maxKeyframeIntervalMs > 0,
    `maxKeyframeIntervalMs must be a positive number of milliseconds, got ${o.maxKeyframeIntervalMs}`,
  );
  check(Number.isFinite(o.ptsWaitMs) && o.ptsWaitMs >= 0, `ptsWaitMs must be >= 0, got ${o.ptsWaitMs}`);
  check(o.backoffMaxMs >= o.backoffBaseMs, `backoffMaxMs (${o.backoffMaxMs}) must be >= backoffBaseMs (${o.backoffBaseMs})`);
  check(Number.isInteger(o.maxRestarts) && o.maxRestarts >= 0, `maxRestarts must be an integer >= 0, got ${o.maxRestarts}`);
  check(Number.isInteger(o.maxQueuedFrames) && o.maxQueuedFrames >= 1, `maxQueuedFrames must be an integer >= 1, got ${o.maxQueuedFrames}`);
  if (issues.length) throw new ConfigError('invalid sampler options', issues);
  return o;
}
