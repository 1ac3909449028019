import type { SamplerOptions } from '../../config/index.js';
import type { PreparedInput } from './source-policy.js';
import type { SourceUrl } from './source-url.js';

export type ArgOptions = Pick<
  SamplerOptions,
  | 'fps'
  | 'width'
  | 'height'
  | 'scaleMode'
  | 'scaleFlags'
  | 'rateFilter'
  | 'lowLatency'
  | 'threads'
  | 'encoderThreads'
  | 'rwTimeoutMs'
  | 'fileRealtime'
>;

export interface SamplerArgsInput {
  readonly source: SourceUrl;
  /** The source after the source policy (source-policy.ts): what ffmpeg opens and the options that go with it. */
  readonly prepared?: PreparedInput;
  readonly options: ArgOptions;
  /** From FfmpegBinary.hasFpsMode: 5.1+ deprecates `-vsync` in favour of `-fps_mode`. */
  readonly hasFpsMode: boolean;
  /**
   * This run decodes keyframes only: the decoder reads the keyframe relay's FLV on stdin
   * (flv-keyframes.ts; buildDemuxArgs reads the source). Otherwise it reads the source and
   * decodes every frame, and `fps` selects among them.
   */
  readonly keyframesOnly?: boolean;
}

const PREAMBLE = [
  '-hide_banner',
  // stdin is /dev/null under the watchdog (or the relay's pipe); -nostdin stops ffmpeg treating it as a keyboard.
  '-nostdin',
  '-nostats',
  // info: showinfo's per-frame pts lines; level+: a [error]/[warning] tag for the classifier.
  '-loglevel',
  'level+info',
];

/** Instance name of the showinfo filter whose stderr lines carry each output frame's pts. */
export const PTS_FILTER_NAME = 'showinfo@frame';
/** Instance name of the showinfo filter that reports every decoded keyframe (its pts), before frames are selected. */
export const KEYFRAME_FILTER_NAME = 'showinfo@key';

/**
 * ffmpeg's argv (without the binary) for sampling one source to raw RGB frames on stdout.
 * Pure: the same input gives the same argv, so tests pin every flag.
 */
export function buildSamplerArgs({ source, prepared, options: o, hasFpsMode, keyframesOnly = false }: SamplerArgsInput): string[] {
  const args: string[] = [...PREAMBLE];

  // ---- input ----
  if (keyframesOnly) {
    // The relay's FLV: keyframes only, each followed by an end-of-sequence packet that makes the
    // decoder output it at once; that needs no frame threading (low_delay, one thread). Not
    // -skip_frame nokey: with it the decoder ignores the end-of-sequence packets (measured).
    args.push('-flags', 'low_delay', '-threads', String(o.threads));
    args.push('-probesize', '32', '-analyzeduration', '0', '-f', 'flv', '-i', 'pipe:0');
  } else {
    args.push(...decoderFlags(o, source), ...sourceInput(source, o, prepared));
  }
  args.push(...outputArgs(o, hasFpsMode));
  return args;
}

/**
 * The first ffmpeg of a keyframe run: reads the source like a full-decode run and remuxes its
 * video to FLV on stdout without decoding it (the relay keeps the keyframes), each packet
 * written at once.
 *
 * `-discard:v nokey`: a demuxer that honours it (FLV, so RTMP and RTMPS) drops the packets
 * between keyframes itself, before they are muxed and piped: 30 pipe writes a second per stream
 * become one every keyframe interval, and the worker's event loop no longer reads 3 Mbit/s per
 * stream only for the relay to drop most of it. npm run bench:sampler measured, on 8 streams of
 * the load benchmark's 720p30 clip: remuxer 0.36 -> 0.21 % of a core per stream, the worker's
 * main thread 0.42 -> 0.24. Where a demuxer ignores it (MPEG-TS over SRT, HLS) the relay drops
 * them as before. Packets read while the stream is probed pass anyway: the relay still filters.
 * A codec the relay passes on whole (not H.264) then reaches the decoder as keyframes only too.
 */
export function buildDemuxArgs({ source, prepared, options: o }: Pick<SamplerArgsInput, 'source' | 'prepared' | 'options'>): string[] {
  return [
    ...PREAMBLE,
    ...(o.lowLatency && (source.kind === 'rtmp' || source.kind === 'srt') ? ['-probesize', '32', '-analyzeduration', '0'] : []),
    '-discard:v',
    'nokey',
    ...sourceInput(source, o, prepared),
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    '-copyts',
    '-c',
    'copy',
    '-flush_packets',
    '1',
    '-f',
    'flv',
    'pipe:1',
  ];
}

/** Sampling a live source at most this many frames a second, full decoding skips non-reference frames (see decoderFlags). */
export const SKIP_NONREF_MAX_FPS = 2;

function decoderFlags(o: ArgOptions, source: SourceUrl): string[] {
  const args: string[] = [];
  if (o.lowLatency) {
    if (source.kind === 'rtmp' || source.kind === 'srt') {
      // Start decoding after the smallest possible probe (the default analyses 5 s of stream
      // first). Not `-fflags nobuffer`: it discards the packets read while probing, which hold the
      // first keyframe, so decoding would wait a whole GOP for the next one (measured: first frame
      // after 1.3 s instead of 0.37 s on a 1 s GOP) and steady-state age is the same without it.
      args.push('-probesize', '32', '-analyzeduration', '0');
    }
    // Decoder flag: disables frame threading, whose pipeline holds (threads - 1) frames back.
    args.push('-flags', 'low_delay');
  }
  // Sampling a few frames a second, the decoder need not decode the frames no other frame is
  // predicted from (B-frames, mostly): the frames it does decode come out bit-identical (nothing
  // they depend on is skipped), and `select` takes the first of them in each 1/fps slot instead of
  // the first frame, at most a few frames (~100 ms) later. npm run bench:sampler -- --decode all
  // measured the load benchmark's clip (2 B-frames): decoder CPU -24 %. Not -skip_loop_filter: it
  // saves less (~19 %) and changes every frame's pixels, so hashes move. Above SKIP_NONREF_MAX_FPS
  // a slot may hold no reference frame at all (with B-pyramids, up to 4 in a row are not), so
  // denser sampling decodes everything.
  // Live sources only: a file is hashed by an operator (`streamscreen vpdq`, reference videos),
  // where the frame each slot takes must stay the first one, whatever it costs.
  if (source.live && o.fps <= SKIP_NONREF_MAX_FPS) args.push('-skip_frame', 'noref');
  args.push('-threads', String(o.threads));
  return args;
}

/** Protocol and demuxer options for the source, then `-i`. */
function sourceInput(source: SourceUrl, o: ArgOptions, prepared: PreparedInput | undefined): string[] {
  const args: string[] = [];
  if (source.live) args.push('-rw_timeout', String(Math.round(o.rwTimeoutMs * 1000)));
  args.push('-protocol_whitelist', source.protocolWhitelist);
  if (source.kind === 'rtmp') args.push('-rtmp_live', 'live');
  // Join a live HLS stream at its newest segment, not three segments back.
  if (source.kind === 'hls') args.push('-live_start_index', '-1');
  if (source.kind === 'file' && o.fileRealtime) args.push('-re');
  if (prepared) args.push(...prepared.args);
  if (source.format) args.push('-f', source.format);
  args.push('-i', prepared?.input ?? source.input);
  return args;
}

function outputArgs(o: ArgOptions, hasFpsMode: boolean): string[] {
  return [
    '-map',
    '0:v:0',
    '-an',
    '-sn',
    '-dn',
    // Keep the source's own timestamps, so pts lines up across restarts and with the platform's clock.
    '-copyts',
    '-vf',
    buildVideoFilter(o),
    // Write each filtered frame as it comes: no duplicating or dropping to a constant rate, so the
    // n-th frame on stdout is the n-th showinfo line.
    ...(hasFpsMode ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough']),
    // Encoder threads. ffmpeg 5.1's rawvideo encoder is frame-threaded and, with the automatic
    // thread count, returns each frame only once the next one is in: a whole 1/fps of extra age
    // at 1 fps. One thread hands every frame out the moment it is filtered.
    '-threads',
    String(o.encoderThreads),
    // Write each frame to the pipe at once, even when it is smaller than the I/O buffer.
    '-flush_packets',
    '1',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    'pipe:1',
  ];
}

/**
 * The frame chain, plus a branch that reports every decoded keyframe's pts (the sampler measures
 * the stream's keyframe interval from it, in either decoding mode) and discards the frame. The
 * branch passes only keyframes to its showinfo, without checksums: a line per keyframe, no
 * per-pixel work.
 */
export function buildVideoFilter(o: Pick<ArgOptions, 'fps' | 'width' | 'height' | 'scaleMode' | 'scaleFlags' | 'rateFilter'>): string {
  return `split=2[frames][keys];[keys]select='eq(key,1)',${KEYFRAME_FILTER_NAME}=checksum=0,nullsink;[frames]${buildFilterChain(o)}`;
}

export function buildFilterChain(o: Pick<ArgOptions, 'fps' | 'width' | 'height' | 'scaleMode' | 'scaleFlags' | 'rateFilter'>): string {
  return [rateFilter(o.fps, o.rateFilter), scaleFilter(o), 'format=rgb24', PTS_FILTER_NAME].join(',');
}

/**
 * `exact`: always W x H. `shrink`: W x H when the frame exceeds W or H on either side, else its own
 * size. The expressions are evaluated whenever ffmpeg (re)configures the graph, which it does
 * when the source changes resolution, so each frame's size is read from showinfo, not assumed.
 */
export function scaleFilter(o: Pick<ArgOptions, 'width' | 'height' | 'scaleMode' | 'scaleFlags'>): string {
  if (o.scaleMode === 'exact') return `scale=${o.width}:${o.height}:flags=${o.scaleFlags}`;
  const big = `gt(iw,${o.width})+gt(ih,${o.height})`;
  return `scale=w='if(${big},${o.width},iw)':h='if(${big},${o.height},ih)':flags=${o.scaleFlags}`;
}

/**
 * `select` passes the first frame of every 1/fps slot of the timeline on at once: the slot index
 * floor(t*fps) moved past the previously selected frame's. Absolute slots keep the long-run rate
 * exact (no drift from comparing against the last pick). The fps filter instead decides which
 * input frame is nearest each output tick, so it must see the next input frame first, and some
 * builds hold the output frame longer than that.
 */
export function rateFilter(fps: number, mode: ArgOptions['rateFilter']): string {
  const r = formatNumber(fps);
  if (mode === 'fps') return `fps=${r}`;
  return `select='isnan(prev_selected_t)+gt(floor(t*${r}),floor(prev_selected_t*${r}))'`;
}

/** Plain decimal (no exponent), which ffmpeg's expression parser reads. */
function formatNumber(n: number): string {
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`fps must be a positive finite number, got ${n}`);
  const s = String(n);
  return s.includes('e') ? n.toFixed(12).replace(/0+$/, '') : s;
}
