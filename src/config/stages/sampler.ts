import { z } from 'zod';
import { parseAllowHosts } from '../../domain/egress/allow-list.js';
import { positiveMs } from '../fields.js';

/** Schemes a stream URL can have at all (the sampler reads http(s) as HLS). */
export const SOURCE_SCHEMES = ['rtmp', 'rtmps', 'srt', 'http', 'https'] as const;

/** Threads: 0 lets ffmpeg choose. */
const threads = (def: number) => z.number().int().min(0).max(64).default(def);
/**
 * Frame side in pixels. Below 16 a frame holds less detail than the 16x16 DCT that PDQ keeps, so
 * its hash would be mostly interpolation.
 */
const side = (def: number) => z.number().int().min(16).max(4096).default(def);

/** One stream's sampler (config section `sampler`): how ffmpeg is run and supervised. */
export const SamplerSection = z
  .strictObject({
    /** Frames per second handed to the pipeline. */
    fps: z.number().positive().max(30).default(1),
    /** Output frame size (see scaleMode). 512x512: PDQ's working size, so ffmpeg scales once. */
    width: side(512),
    height: side(512),
    /**
     * `shrink`: only sources larger than width x height are scaled (to exactly that size, aspect not
     * kept, as the PDQ reference reduces); smaller ones keep their size, because upscaling moves
     * their hash (median 10 bits vs 0 on the benign test images; bench/bench-pdq-scale.ts measures
     * it and test/hash/pdq-frame-size.test.ts holds these defaults to it). Frame sizes can
     * then differ between streams and change with the source: read them per frame.
     * `exact`: every frame scaled to width x height.
     */
    scaleMode: z.enum(['shrink', 'exact']).default('shrink'),
    /** swscale algorithm for the downscale. `area` averages source pixels: no aliasing. */
    scaleFlags: z
      .string()
      .regex(/^[a-z_+]+$/, 'must be swscale flag names like "area" or "bicubic+accurate_rnd"')
      .default('area'),
    /**
     * How frames are picked at `fps`. `select` emits the first frame of each 1/fps slot the moment
     * it is decoded. `fps` uses ffmpeg's fps filter, which holds each output frame until a later
     * input frame arrives; it is kept only so bench/measure-frame-age.ts can compare.
     */
    rateFilter: z.enum(['select', 'fps']).default('select'),
    /**
     * Live input flags: decode after a minimal probe (`-probesize 32 -analyzeduration 0` for RTMP
     * and SRT; ffmpeg otherwise analyses 5 s of stream before the first frame) and
     * `-flags low_delay` (no frame threading in the decoder).
     */
    lowLatency: z.boolean().default(true),
    /** Decoder threads per ffmpeg. 1: a worker runs many streams, and one core each is plenty at 1 fps. */
    threads: threads(1),
    /**
     * Threads of the rawvideo "encoder" that writes frames to the pipe. 1, because 0 (ffmpeg
     * chooses) frame-threads it on 5.1 and holds every frame until the next one arrives, a full
     * 1/fps of extra age; 0 is kept only so bench/measure-frame-age.ts can show that.
     */
    encoderThreads: threads(1),
    /**
     * `auto`: decode keyframes only (`-skip_frame nokey`) while a stream's keyframes are at most
     * maxKeyframeIntervalMs apart, else every frame at fps (worker/sampler/decode-mode.ts). Decoding
     * a 720p30 H.264 stream in full costs ~10x its keyframes alone, and a keyframe decodes to the
     * same picture (same hash) either way. `keyframes` / `all` force one mode; forced keyframes need
     * a keyframe interval below stallTimeoutMs.
     */
    decode: z.enum(['keyframes', 'all', 'auto']).default('auto'),
    /**
     * 2 s: platforms' ingest rules commonly require a keyframe at least every 2 s, and a frame every
     * 2 s is the sparsest sampling accepted on keyframes alone (half the default 1 fps).
     */
    maxKeyframeIntervalMs: positiveMs(2_000),
    /** `file:` and bare paths are for local testing only. */
    allowFiles: z.boolean().default(false),
    /** Read local files at their native frame rate (`-re`), as if live. */
    fileRealtime: z.boolean().default(true),
    /** ffmpeg gives up on a network read or write after this long (`-rw_timeout`). */
    rwTimeoutMs: positiveMs(5_000),
    /**
     * No frame within this long (from spawn, or since the previous frame) counts as a stall: ffmpeg
     * is killed and restarted. Must exceed the source's keyframe interval plus connect time.
     */
    stallTimeoutMs: positiveMs(10_000),
    /** Consecutive failed attempts before giving up with `source_failed`; reset once frames flow. */
    maxRestarts: z.number().int().nonnegative().default(5),
    /** Restart delay: exponential from base, capped at max, with jitter. */
    backoffBaseMs: positiveMs(500),
    backoffMaxMs: positiveMs(15_000),
    /**
     * Frames kept for a consumer that is behind; beyond this the oldest is dropped (and counted).
     * 2: a screener that falls behind should see the newest frames, not a backlog.
     */
    maxQueuedFrames: z.number().int().min(1).default(2),
    /** After SIGTERM, how long ffmpeg may take to exit before its whole process group is SIGKILLed. */
    stopGraceMs: positiveMs(1_000),
    /** How long a finished frame may wait for its pts line on stderr before it is stamped with an estimate. */
    ptsWaitMs: z.number().int().nonnegative().default(200),
    /**
     * Hosts a stream URL may name although they are loopback, private, link-local, CGNAT, ULA or a
     * metadata service: names, `*.` subdomain wildcards, addresses and CIDR blocks (the platform's
     * own ingest servers on a private network, say). Empty: a stream URL, which whoever starts a
     * stream controls, can never steer the worker into the network it runs in.
     */
    allowHosts: z.array(z.string().min(1)).default([]),
    /** Schemes stream URLs may use; narrow it to what the platform serves (e.g. only rtmps and https). */
    allowSchemes: z
      .array(z.enum(SOURCE_SCHEMES))
      .min(1)
      .default([...SOURCE_SCHEMES]),
    /** CA bundle (PEM) that https and rtmps sources are verified against; the system's trust store when absent. */
    tlsCaFile: z.string().min(1).optional(),
    /**
     * How long a source may take to deliver its first frame, across all attempts, before it is given
     * up (`source_unreachable`): a source that never answers must not hold one of the worker's
     * maxStreams slots through maxRestarts rounds of timeouts and backoff. 30 s fits three
     * attempts at the default rwTimeoutMs and backoff, plenty for a source that is there.
     */
    connectBudgetMs: positiveMs(30_000),
  })
  .superRefine((o, ctx) => {
    for (const issue of parseAllowHosts(o.allowHosts).issues) ctx.addIssue({ code: 'custom', path: ['allowHosts'], message: issue });
    if (o.backoffMaxMs < o.backoffBaseMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['backoffMaxMs'],
        message: `backoffMaxMs (${o.backoffMaxMs}) must be >= backoffBaseMs (${o.backoffBaseMs})`,
      });
    }
  });

/** What the sampler takes: the section as validated, nothing derived. */
export type SamplerOptions = Readonly<z.output<typeof SamplerSection>>;
