import { readFile } from 'node:fs/promises';
import { SourceError, type SourceErrorCode } from '../../domain/errors.js';
import { silentHooks, type Emitter } from '../../domain/hooks.js';
import type { WorkerEvents } from '../events.js';
import type { RawFrame } from '../../domain/frame.js';
import type { SamplerOptions } from '../../config/index.js';
import type { Logger } from '../../domain/logger.js';
import { backoffDelay } from '../../domain/retry.js';
import { errorForExit } from './exit-reason.js';
import { SourceFailedError } from './errors.js';
import { buildDemuxArgs, buildSamplerArgs } from './ffmpeg-args.js';
import { FlvKeyframeRelay } from './flv-keyframes.js';
import type { FfmpegBinary } from './ffmpeg-binary.js';
import { LineSplitter, parseFrameInfo, parseKeyframeInfo, parseLogLine, type LogLine } from './ffmpeg-log.js';
import {
  initialDecodeState,
  keyframeIntervalMs,
  nextTickInMs,
  onKeyframe,
  onOptionsChanged,
  onTick,
  type DecodeMode,
  type DecodeModeOptions,
  type DecodeStep,
  type DecodeSwitchReason,
} from './decode-mode.js';
import { processTreeCpuSeconds } from './process-cpu.js';
import { createEgressPolicy, type Lookup } from './egress/policy.js';
import { startEgressProxy, type EgressBlocked, type EgressProxy } from './egress/proxy.js';
import { prepareSource, type Preparation } from './source-policy.js';
import type { PreparedInput } from './source-policy.js';
import { LatestQueue } from './frame-queue.js';
import { FrameStamper } from './frame-stamper.js';
import { FrameAssembler } from './framer.js';
import { cutLifeline, hasExited, inputOf, spawnWithLifeline, terminate, type LifelineChild } from './lifeline.js';
import { parseSourceUrl, type SourceUrl } from './source-url.js';

export interface CreateSamplerDeps {
  /** Stream URL (rtmp, rtmps, srt, http(s) HLS; a file path only with options.allowFiles). */
  url: string;
  streamId: string;
  ffmpeg: FfmpegBinary;
  logger: Logger;
  /** Resolved at load (config/). */
  options: SamplerOptions;
  /** Reports spawns, restarts, drops and the final failure (`sampler.*` of WorkerEvents). */
  events?: Emitter<WorkerEvents>;
  /** Aborting it stops the sampler, as stop() does. */
  signal?: AbortSignal;
  /** Jitter source for the backoff; tests pin it. */
  random?: () => number;
  /** DNS for the source policy (node:dns by default); tests give names without touching real DNS. */
  lookup?: Lookup;
  /** Graceful degradation in force (the capacity governor's view): keyframes only, half rate. */
  pressure?: SamplingPressure;
}

/** What graceful degradation asks of a sampler; read at every change it announces. */
export interface SamplingPressure {
  /** `auto` streams decode keyframes only, however sparse they are. */
  readonly keyframesOnly: boolean;
  /** Every other sampled frame is not passed on (counted by `sampler.thinned`). */
  readonly halfRate: boolean;
  /** Called after every change; returns a function that unsubscribes. */
  onChange(listener: () => void): () => void;
}

export type SamplerState = 'running' | 'backoff' | 'ended' | 'failed' | 'stopped';

export interface SamplerStats {
  readonly state: SamplerState;
  /** ffmpeg runs started so far. */
  readonly attempts: number;
  readonly restarts: number;
  readonly framesEmitted: number;
  /** Frames discarded because the consumer was behind. */
  readonly framesDropped: number;
  /** Frames whose pts had to be estimated (their showinfo line did not arrive in time). */
  readonly framesEstimatedPts: number;
  readonly lastError?: { readonly code: SourceErrorCode; readonly message: string };
  /** Process group of the current ffmpeg run (the lifeline wrapper's pid), if one is running. */
  readonly pid?: number;
  /** What the current (or next) run decodes. */
  readonly decodeMode: DecodeMode;
  /** The stream's last measured keyframe interval, by its own timestamps. */
  readonly keyframeIntervalMs?: number;
  /** Restarts of ffmpeg to change the decode mode (not counted in `restarts`). */
  readonly decodeSwitches: number;
}

export interface Sampler {
  readonly streamId: string;
  /** The validated source; logs and serialises as the redacted URL. */
  readonly source: SourceUrl;
  readonly options: SamplerOptions;
  /**
   * The frames, newest-biased: a consumer that falls behind loses the oldest (see
   * maxQueuedFrames). Ends after stop() or at the end of a local file; throws SourceFailedError
   * when the source is given up on. One consumer; leaving the loop early stops the sampler.
   */
  frames(): AsyncIterable<RawFrame>;
  /** Stops ffmpeg (SIGTERM, then SIGKILL to its group after stopGraceMs); resolves once it is gone. */
  stop(): Promise<void>;
  stats(): SamplerStats;
  /** Settles (never rejects) when the sampler has stopped, failed or ended and no ffmpeg is left. */
  readonly done: Promise<void>;
}

const TAIL_LINES = 40;
/** After SIGKILL through the wrapper, how long before the whole group is killed instead. */
const KILL_WAIT_MS = 1_000;
const DROP_LOG_INTERVAL_MS = 10_000;
/** How often a run's decode CPU is read from /proc (a few small reads per stream). */
const CPU_SAMPLE_MS = 2_000;

/** One ffmpeg run: the decoder, and in keyframe mode the remuxer feeding it through the relay. */
interface Run {
  readonly decoder: LifelineChild;
  readonly demux: LifelineChild | undefined;
}

/** Stops every process of a run; resolves once all are gone. */
async function endRun(run: Run, how: { graceful: boolean; graceMs: number }): Promise<void> {
  await Promise.all(
    [run.demux, run.decoder].filter((c): c is LifelineChild => c !== undefined && !hasExited(c)).map((c) => terminate(c, how)),
  );
}

/** CPU seconds of a run's processes so far, undefined when /proc cannot tell. */
function runCpuSeconds(run: Run): number | undefined {
  let total = 0;
  for (const c of [run.decoder, run.demux]) {
    if (!c || c.pid === undefined) continue;
    const s = processTreeCpuSeconds(c.pid);
    if (s === undefined) return undefined;
    total += s;
  }
  return total;
}

interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly frames: number;
  readonly lines: LogLine[];
  /** Why the run was ended from here (stall, broken output, refused egress), or why it never started (source policy). */
  readonly knownError?: SourceError;
  readonly spawnError?: Error;
}

/**
 * Samples one live stream with ffmpeg: raw RGB frames at `fps`, scaled by ffmpeg, stamped with
 * seq/pts/capturedAt; restarts ffmpeg with backoff when it exits or stalls; gives up with
 * SourceFailedError after `maxRestarts` consecutive failures. Starts at once.
 * Throws SourceError('source_invalid') synchronously for a URL that is not allowed.
 */
export function createSampler(deps: CreateSamplerDeps): Sampler {
  const { options } = deps;
  if (typeof deps.streamId !== 'string' || deps.streamId.length === 0) {
    throw new SourceError('source_invalid', 'streamId must be a non-empty string', { retryable: false });
  }
  const source = parseSourceUrl(deps.url, {
    allowFiles: options.allowFiles,
    protocols: deps.ffmpeg.protocols,
    schemes: new Set(options.allowSchemes),
  });
  const policy = createEgressPolicy({ allowHosts: options.allowHosts, lookup: deps.lookup, lookupTimeoutMs: options.rwTimeoutMs });
  // http(s) and rtmps read through the egress proxy (source-policy.ts); rtmp and srt are pinned instead.
  const needsProxy = source.kind === 'hls' || /^rtmps:/i.test(source.input);
  const argsFor = (mode: DecodeMode, prepared: PreparedInput): string[] =>
    buildSamplerArgs({ source, prepared, options, hasFpsMode: deps.ffmpeg.hasFpsMode, keyframesOnly: mode === 'keyframes' });
  // The caller's logger may already be bound to this stream; a second streamId key would be a duplicate in the JSON.
  const bound = typeof deps.logger.bindings === 'function' ? deps.logger.bindings() : {};
  const log = deps.logger.child({
    component: 'sampler',
    ...(bound.streamId === undefined ? { streamId: deps.streamId } : {}),
    source: source.redacted,
  });
  const events = deps.events ?? silentHooks<WorkerEvents>();
  // exact: every frame's size is known up front, so frames are cut as soon as their bytes are in.
  // shrink: a frame's size comes from its showinfo line (written to stderr before the frame).
  const fixedBytes = options.scaleMode === 'exact' ? options.width * options.height * 3 : undefined;
  // More than this unframed means the size lines stopped coming: a broken run, not a slow one.
  const maxBuffered = 4 * options.width * options.height * 3;
  const originMs = Date.now();

  let state: SamplerState = 'running';
  let stopping = false;
  let attempts = 0;
  let restarts = 0;
  let framesEmitted = 0;
  let estimatedPts = 0;
  let lastError: SourceError | undefined;
  /** The running ffmpeg: the decoder, and in keyframe mode the remuxer that reads the source for it. */
  let current: Run | undefined;
  let nextSeq = 0;
  let lastStamp: { pts: number; capturedAt: number } | undefined;
  let lastDropLog = 0;
  let wake: (() => void) | undefined;
  // A restart re-reads a file from its start, so `auto` switches only on live sources.
  const pressure = deps.pressure;
  const currentDecodeOptions = (): DecodeModeOptions => ({
    setting: options.decode === 'auto' && !source.live ? 'all' : options.decode,
    maxKeyframeIntervalMs: options.maxKeyframeIntervalMs,
    forceKeyframes: pressure?.keyframesOnly ?? false,
  });
  let decodeOptions = currentDecodeOptions();
  /** Set by the running ffmpeg run: applies changed decode options to it. */
  let onDecodeOptions: (() => void) | undefined;
  /** Frames sampled while at half rate: every odd one is not passed on. */
  let halfRateCount = 0;
  let decode = initialDecodeState(decodeOptions, Date.now());
  let decodeSwitches = 0;
  /** Set while a run is being stopped to restart ffmpeg in another decode mode. */
  let switching: { from: DecodeMode; to: DecodeMode; reason: DecodeSwitchReason } | undefined;
  /** Frames stopped because the source failed and ffmpeg is being restarted: the stream is unscreened. */
  let down = false;
  const setDown = (value: boolean): void => {
    if (down === value) return;
    down = value;
    events.emit('sampler.down', { down: value });
  };

  let proxy: EgressProxy | undefined;
  /** Set when the proxy refuses a connection of the current run: the run is ended and the source given up. */
  let refusal: SourceError | undefined;

  const onBlocked = (b: EgressBlocked): void => {
    events.emit('sampler.egressBlocked', { kind: b.kind });
    if (b.kind !== 'refused' || refusal) return;
    // A source that sends ffmpeg towards a denied host (a playlist entry, a redirect) is given up
    // whole: nothing it serves afterwards can be trusted to stay on allowed hosts.
    refusal = new SourceError('source_refused', `egress refused ${b.host}:${b.port}: ${b.detail}`, { retryable: false });
    if (current) void endRun(current, { graceful: false, graceMs: KILL_WAIT_MS });
  };

  const prepare = async (): Promise<Preparation> => {
    if (needsProxy && !proxy) {
      proxy = await startEgressProxy({
        policy,
        logger: log,
        connectTimeoutMs: options.rwTimeoutMs,
        idleTimeoutMs: Math.max(options.stallTimeoutMs, options.rwTimeoutMs) * 2,
        verifyTls: true,
        ...(options.tlsCaFile ? { ca: await readFile(options.tlsCaFile, 'utf8') } : {}),
        onBlocked,
      });
    }
    return prepareSource(source, { policy, proxyUrl: proxy?.url, tlsCaFile: options.tlsCaFile });
  };
  const closeProxy = async (): Promise<void> => {
    const p = proxy;
    proxy = undefined;
    await p?.close();
  };

  const queue = new LatestQueue<RawFrame>(
    options.maxQueuedFrames,
    () => void stop(),
    (frame) => {
      events.emit('sampler.drop', { frame, droppedTotal: queue.dropped });
      const now = Date.now();
      if (now - lastDropLog >= DROP_LOG_INTERVAL_MS) {
        lastDropLog = now;
        log.warn({ droppedTotal: queue.dropped, seq: frame.seq }, 'consumer is behind; dropping the oldest frames');
      }
    },
  );

  const runOnce = (attempt: number, prepared: PreparedInput): Promise<RunResult> =>
    new Promise((resolve) => {
      const runMode = decode.mode;
      const relayed = runMode === 'keyframes';
      const child = spawnWithLifeline(deps.ffmpeg.path, argsFor(runMode, prepared), '/bin/sh', { input: relayed });
      const demux = relayed ? spawnWithLifeline(deps.ffmpeg.path, buildDemuxArgs({ source, prepared, options })) : undefined;
      const run: Run = { decoder: child, demux };
      current = run;
      // Timestamps may restart with a new connection: intervals are measured within one run.
      decode = { ...decode, lastKeyPts: undefined, lastKeyAt: undefined };
      const startedAt = Date.now();
      const assembler = new FrameAssembler();
      const stamper = new FrameStamper({
        streamId: deps.streamId,
        firstSeq: nextSeq,
        waitMs: options.ptsWaitMs,
        originMs,
        previous: lastStamp,
      });
      const splitter = new LineSplitter();
      const lines: LogLine[] = [];
      const sizes = new Map<number, { width: number; height: number }>();
      let cut = 0;
      let frames = 0;
      let stallError: SourceError | undefined;
      let brokenError: SourceError | undefined;
      let spawnError: Error | undefined;
      let stallTimer: NodeJS.Timeout | undefined;
      let ptsTimer: NodeJS.Timeout | undefined;
      let tickTimer: NodeJS.Timeout | undefined;
      // Until the source has delivered a frame it holds a screening slot on credit: the connect budget.
      const budgetTimer =
        framesEmitted === 0
          ? setTimeout(
              () => {
                if (framesEmitted > 0) return;
                stallError = connectBudgetSpent();
                void endRun(run, { graceful: false, graceMs: KILL_WAIT_MS });
              },
              Math.max(0, originMs + options.connectBudgetMs - Date.now()),
            )
          : undefined;
      let cpuSeen = 0;
      const sampleCpu = (): void => {
        const seconds = runCpuSeconds(run);
        if (seconds === undefined || seconds <= cpuSeen) return;
        events.emit('sampler.decodeCpu', { streamId: deps.streamId, mode: runMode, seconds: seconds - cpuSeen });
        cpuSeen = seconds;
      };
      const cpuTimer = setInterval(sampleCpu, CPU_SAMPLE_MS);
      /** Applies what the decode-mode rules say: a switch stops this run, and the loop starts the next in the new mode. */
      const applyDecode = (step: DecodeStep): void => {
        decode = step.state;
        clearTimeout(tickTimer);
        if (step.kind === 'switch' && switching) {
          // A second switch while the run stops (degradation changed meanwhile): the next run takes the latest.
          switching = { ...switching, to: step.state.mode, reason: step.reason };
          return;
        }
        if (step.kind === 'switch' && !stopping) {
          switching = { from: runMode, to: step.state.mode, reason: step.reason };
          void endRun(run, { graceful: true, graceMs: options.stopGraceMs });
          return;
        }
        const wait = nextTickInMs(decode, Date.now(), decodeOptions);
        if (wait !== undefined) tickTimer = setTimeout(() => applyDecode(onTick(decode, Date.now(), decodeOptions)), wait);
      };

      events.emit('sampler.spawn', { attempt, pid: child.pid });
      log.info({ attempt, processGroup: child.pid }, 'ffmpeg started');

      onDecodeOptions = () => applyDecode(onOptionsChanged(decode, Date.now(), decodeOptions));
      const emit = (ready: RawFrame[]): void => {
        for (const f of ready) {
          if (frames === 0) {
            log.info({ attempt, firstFrameMs: f.capturedAt - startedAt }, 'frames flowing');
            setDown(false);
          }
          frames++;
          framesEmitted++;
          // Half rate (degradation level 2): the frame was decoded and framed, but what costs is the
          // hashing and inference downstream, and those are spared. Counted, never silent.
          if (pressure?.halfRate && halfRateCount++ % 2 === 1) {
            events.emit('sampler.thinned', { streamId: deps.streamId });
            continue;
          }
          queue.push(f);
        }
        nextSeq = stamper.nextSeq;
        lastStamp = stamper.last;
      };
      const armStall = (): void => {
        clearTimeout(stallTimer);
        stallTimer = setTimeout(() => {
          stallError = new SourceError('source_stalled', `no frame from ffmpeg for ${options.stallTimeoutMs} ms`, { retryable: true });
          void endRun(run, { graceful: false, graceMs: KILL_WAIT_MS });
        }, options.stallTimeoutMs);
      };
      const schedulePts = (): void => {
        clearTimeout(ptsTimer);
        const deadline = stamper.deadline;
        if (deadline === undefined) return;
        ptsTimer = setTimeout(
          () => {
            emit(stamper.expire(Date.now()));
            schedulePts();
          },
          Math.max(0, deadline - Date.now()),
        );
      };
      const broken = (message: string): void => {
        brokenError ??= new SourceError('ffmpeg_crashed', message, { retryable: true });
        void endRun(run, { graceful: false, graceMs: KILL_WAIT_MS });
      };
      /** Cuts every frame whose bytes and (in shrink mode) size are in. */
      const pump = (): void => {
        for (;;) {
          const size = fixedBytes === undefined ? sizes.get(cut) : { width: options.width, height: options.height };
          if (!size) break;
          const got = assembler.take(size.width * size.height * 3);
          if (!got) break;
          sizes.delete(cut);
          cut++;
          armStall();
          emit(stamper.frame(got.data, got.at, size.width, size.height));
        }
        if (assembler.buffered > maxBuffered)
          broken(`ffmpeg wrote ${assembler.buffered} bytes that do not frame (no frame size lines on stderr)`);
        schedulePts();
      };
      const onLine = (raw: string): void => {
        const line = parseLogLine(raw);
        const key = parseKeyframeInfo(line);
        if (key) {
          const before = decode.intervalsMs;
          const step = onKeyframe(decode, key.pts, Date.now(), decodeOptions);
          const interval = keyframeIntervalMs(step.state);
          if (step.state.intervalsMs !== before && interval !== undefined) {
            events.emit('sampler.keyframe', { streamId: deps.streamId, intervalMs: interval });
          }
          applyDecode(step);
          return;
        }
        const info = parseFrameInfo(line);
        if (info) {
          if (info.width === undefined || info.height === undefined) {
            broken(`cannot read the frame size from ffmpeg's showinfo line: ${raw.slice(0, 200)}`);
            return;
          }
          if (fixedBytes !== undefined && (info.width !== options.width || info.height !== options.height)) {
            broken(`ffmpeg produced a ${info.width}x${info.height} frame, expected ${options.width}x${options.height}`);
            return;
          }
          if (fixedBytes === undefined) sizes.set(info.n, { width: info.width, height: info.height });
          emit(stamper.pts(info.n, info.pts, Date.now()));
          pump();
          return;
        }
        // Once the remuxer has ended, the decoder's complaints about its cut-off input say nothing.
        if (!demuxExit) keepProblem(line, raw);
      };
      /** Errors and warnings, kept for the exit classifier (the remuxer's too: it is the one reading the source). */
      const keepProblem = (line: LogLine, raw: string): void => {
        if (line.level === 'panic' || line.level === 'fatal' || line.level === 'error' || line.level === 'warning') {
          // The h264 parser's complaint about each end-of-sequence packet the relay adds.
          if (relayed && line.text.startsWith('missing picture in access unit')) return;
          lines.push(line);
          if (lines.length > TAIL_LINES) lines.shift();
          log.debug({ attempt, ffmpegLevel: line.level, ffmpeg: source.redact(raw) }, 'ffmpeg log');
        }
      };
      let demuxExit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      if (demux) {
        const relay = new FlvKeyframeRelay();
        const input = inputOf(child)!;
        // The decoder may be gone first; its stdin then refuses writes, and its close ends the run.
        input.on('error', () => {});
        demux.stdout.on('data', (chunk: Buffer) => {
          try {
            for (const b of relay.push(chunk)) input.write(b);
          } catch (err) {
            broken(`keyframe relay: ${(err as Error).message}`);
          }
        });
        const demuxLines = new LineSplitter();
        demux.stderr.setEncoding('utf8');
        demux.stderr.on('data', (text: string) => {
          for (const l of demuxLines.push(text)) keepProblem(parseLogLine(l), l);
        });
        demux.on('error', (err) => {
          spawnError = err;
        });
        demux.on('close', (code, signal) => {
          for (const l of demuxLines.flush()) keepProblem(parseLogLine(l), l);
          demuxExit = { code, signal };
          cutLifeline(demux);
          // The decoder decodes what it has and exits: the run ends with the source.
          input.end();
        });
      }

      armStall();
      child.stdout.on('data', (chunk: Buffer) => {
        assembler.push(chunk, Date.now());
        pump();
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (text: string) => {
        for (const l of splitter.push(text)) onLine(l);
      });
      child.on('error', (err) => {
        spawnError = err;
      });
      child.on('close', (decoderCode, decoderSignal) => {
        for (const l of splitter.flush()) onLine(l);
        clearTimeout(stallTimer);
        clearTimeout(ptsTimer);
        clearTimeout(tickTimer);
        clearTimeout(budgetTimer);
        clearInterval(cpuTimer);
        onDecodeOptions = undefined;
        emit(stamper.flush(Date.now()));
        estimatedPts += stamper.estimatedCount;
        const partial = assembler.reset();
        if (partial > 0) log.debug({ attempt, bytes: partial }, 'ffmpeg exited mid-frame; partial frame discarded');
        cutLifeline(child);
        const finish = (): void => {
          if (current === run) current = undefined;
          // In keyframe mode the remuxer's exit says what happened to the source, unless the
          // decoder failed on its own while the remuxer still ran.
          const exit = demuxExit ?? { code: decoderCode, signal: decoderSignal };
          resolve({ code: exit.code, signal: exit.signal, frames, lines, knownError: refusal ?? stallError ?? brokenError, spawnError });
        };
        if (demux && !demuxExit) {
          // The decoder ended first (it failed, or the run is being stopped): its exit is the run's.
          void terminate(demux, { graceful: false, graceMs: KILL_WAIT_MS }).then(() => {
            demuxExit = undefined;
            finish();
          });
        } else finish();
      });
    });

  const connectBudgetSpent = (): SourceError =>
    new SourceError('source_unreachable', `no frame within the connect budget of ${options.connectBudgetMs} ms`, { retryable: false });

  const classify = (r: RunResult): SourceError | undefined => {
    if (r.knownError) return r.knownError;
    if (r.spawnError) {
      return new SourceError('ffmpeg_missing', `cannot start ffmpeg: ${r.spawnError.message}`, { retryable: false, cause: r.spawnError });
    }
    // The wrapper shell reports a missing or non-executable ffmpeg as 127/126.
    if ((r.code === 127 || r.code === 126) && r.frames === 0) {
      return new SourceError('ffmpeg_missing', `cannot run ${deps.ffmpeg.path} (exit ${r.code})`, { retryable: false });
    }
    return errorForExit({ code: r.code, signal: r.signal, lines: r.lines, framesSeen: r.frames, kind: source.kind }, (t) =>
      source.redact(t),
    );
  };

  const loop = async (): Promise<void> => {
    let failures = 0;
    while (!stopping) {
      attempts++;
      state = 'running';
      const prepared = await prepare();
      if (stopping) break;
      const result: RunResult = prepared.ok
        ? await runOnce(attempts, prepared.value)
        : { code: null, signal: null, frames: 0, lines: [], knownError: prepared.error };
      if (stopping) break;
      if (result.frames > 0) failures = 0;
      if (switching) {
        // A planned restart: no failure, no backoff.
        const s = switching;
        switching = undefined;
        // Switched there and back before the restart: the same mode again, no change to report.
        if (s.to === s.from) continue;
        decodeSwitches++;
        log.info(
          { from: s.from, to: s.to, reason: s.reason, keyframeIntervalMs: keyframeIntervalMs(decode) },
          'decode mode changed; restarting ffmpeg',
        );
        events.emit('sampler.decodeMode', { streamId: deps.streamId, mode: s.to, previous: s.from, reason: s.reason });
        continue;
      }
      const err = classify(result);
      if (!err) {
        log.info({ attempt: attempts, frames: framesEmitted }, 'source ended');
        state = 'ended';
        queue.end();
        return;
      }
      failures++;
      lastError = err;
      setDown(true);
      if (!err.retryable || failures > options.maxRestarts) {
        const failed = new SourceFailedError(source.redacted, failures, err);
        state = 'failed';
        log.error({ code: err.code, err: err.message, attempts: failures, retryable: err.retryable }, 'giving up on the source');
        events.emit('sampler.failed', failed);
        queue.fail(failed);
        return;
      }
      const delayMs = backoffDelay(failures, options.backoffBaseMs, options.backoffMaxMs, deps.random);
      if (framesEmitted === 0 && Date.now() + delayMs >= originMs + options.connectBudgetMs) {
        const spent = connectBudgetSpent();
        const failed = new SourceFailedError(source.redacted, failures, spent);
        state = 'failed';
        log.error(
          { code: err.code, err: err.message, attempts: failures, connectBudgetMs: options.connectBudgetMs },
          'giving up on the source',
        );
        events.emit('sampler.failed', failed);
        queue.fail(failed);
        return;
      }
      restarts++;
      state = 'backoff';
      log.warn(
        { code: err.code, err: err.message, attempt: attempts, failures, delayMs, framesThisRun: result.frames },
        'ffmpeg ended; restarting',
      );
      events.emit('sampler.restart', { attempt: attempts, failures, delayMs, error: err });
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delayMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    }
    state = 'stopped';
  };

  const stopFollowingPressure = pressure?.onChange(() => {
    decodeOptions = currentDecodeOptions();
    if (!pressure.halfRate) halfRateCount = 0;
    onDecodeOptions?.();
  });
  events.emit('sampler.decodeMode', { streamId: deps.streamId, mode: decode.mode });
  const done = loop()
    .catch((err: unknown) => {
      // A bug in the loop itself: surface it as a terminal failure rather than a silent hang.
      const cause = new SourceError('ffmpeg_crashed', `sampler supervisor failed: ${(err as Error)?.message ?? String(err)}`, {
        retryable: false,
        cause: err,
      });
      state = 'failed';
      log.error({ err }, 'sampler supervisor failed');
      queue.fail(new SourceFailedError(source.redacted, Math.max(1, attempts), cause));
      if (current) void endRun(current, { graceful: false, graceMs: KILL_WAIT_MS });
    })
    .finally(async () => {
      stopFollowingPressure?.();
      // Whatever way it ended, this sampler no longer counts as a failing source.
      setDown(false);
      events.emit('sampler.closed', { streamId: deps.streamId, mode: decode.mode });
      await closeProxy();
    });

  let stopPromise: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopPromise ??= (async () => {
      stopping = true;
      queue.clear();
      wake?.();
      // SIGTERM first: ffmpeg then closes its connection cleanly.
      if (current) await endRun(current, { graceful: true, graceMs: options.stopGraceMs });
      await done;
      if (state !== 'failed' && state !== 'ended') state = 'stopped';
    })();
    return stopPromise;
  };

  const signal = deps.signal;
  if (signal) {
    const onAbort = (): void => void stop();
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      void done.then(() => signal.removeEventListener('abort', onAbort));
    }
  }

  return {
    streamId: deps.streamId,
    source,
    options,
    frames: () => queue,
    stop,
    stats: () => ({
      state,
      attempts,
      restarts,
      framesEmitted,
      framesDropped: queue.dropped,
      framesEstimatedPts: estimatedPts,
      ...(lastError ? { lastError: { code: lastError.code, message: lastError.message } } : {}),
      ...(current?.decoder.pid !== undefined ? { pid: current.decoder.pid } : {}),
      decodeMode: decode.mode,
      ...(keyframeIntervalMs(decode) !== undefined ? { keyframeIntervalMs: keyframeIntervalMs(decode) } : {}),
      decodeSwitches,
    }),
    done,
  };
}
