import { SourceError, type SourceErrorCode } from '../../domain/errors.js';
import { silentHooks, type Emitter } from '../../domain/hooks.js';
import type { WorkerEvents } from '../events.js';
import type { RawFrame } from '../../domain/frame.js';
import type { SamplerOptions } from '../../config/index.js';
import type { Logger } from '../../domain/logger.js';
import { backoffDelay } from '../../domain/retry.js';
import { errorForExit } from './exit-reason.js';
import { SourceFailedError } from './errors.js';
import { buildSamplerArgs } from './ffmpeg-args.js';
import type { FfmpegBinary } from './ffmpeg-binary.js';
import { LineSplitter, parseFrameInfo, parseLogLine, type LogLine } from './ffmpeg-log.js';
import { LatestQueue } from './frame-queue.js';
import { FrameStamper } from './frame-stamper.js';
import { FrameAssembler } from './framer.js';
import { cutLifeline, hasExited, spawnWithLifeline, terminate, type LifelineChild } from './lifeline.js';
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

interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly frames: number;
  readonly lines: LogLine[];
  readonly stallError?: SourceError;
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
  const source = parseSourceUrl(deps.url, { allowFiles: options.allowFiles, protocols: deps.ffmpeg.protocols });
  const args = buildSamplerArgs({ source, options, hasFpsMode: deps.ffmpeg.hasFpsMode });
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
  let current: LifelineChild | undefined;
  let nextSeq = 0;
  let lastStamp: { pts: number; capturedAt: number } | undefined;
  let lastDropLog = 0;
  let wake: (() => void) | undefined;

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

  const runOnce = (attempt: number): Promise<RunResult> =>
    new Promise((resolve) => {
      const child = spawnWithLifeline(deps.ffmpeg.path, args);
      current = child;
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

      events.emit('sampler.spawn', { attempt, pid: child.pid });
      log.info({ attempt, processGroup: child.pid }, 'ffmpeg started');

      const emit = (ready: RawFrame[]): void => {
        for (const f of ready) {
          if (frames === 0) log.info({ attempt, firstFrameMs: f.capturedAt - startedAt }, 'frames flowing');
          frames++;
          framesEmitted++;
          queue.push(f);
        }
        nextSeq = stamper.nextSeq;
        lastStamp = stamper.last;
      };
      const armStall = (): void => {
        clearTimeout(stallTimer);
        stallTimer = setTimeout(() => {
          stallError = new SourceError('source_stalled', `no frame from ffmpeg for ${options.stallTimeoutMs} ms`, { retryable: true });
          void terminate(child, { graceful: false, graceMs: KILL_WAIT_MS });
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
        void terminate(child, { graceful: false, graceMs: KILL_WAIT_MS });
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
        if (line.level === 'panic' || line.level === 'fatal' || line.level === 'error' || line.level === 'warning') {
          lines.push(line);
          if (lines.length > TAIL_LINES) lines.shift();
          log.debug({ attempt, ffmpegLevel: line.level, ffmpeg: source.redact(raw) }, 'ffmpeg log');
        }
      };

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
      child.on('close', (code, signal) => {
        for (const l of splitter.flush()) onLine(l);
        clearTimeout(stallTimer);
        clearTimeout(ptsTimer);
        emit(stamper.flush(Date.now()));
        estimatedPts += stamper.estimatedCount;
        const partial = assembler.reset();
        if (partial > 0) log.debug({ attempt, bytes: partial }, 'ffmpeg exited mid-frame; partial frame discarded');
        cutLifeline(child);
        if (current === child) current = undefined;
        resolve({ code, signal, frames, lines, stallError: stallError ?? brokenError, spawnError });
      });
    });

  const classify = (r: RunResult): SourceError | undefined => {
    if (r.stallError) return r.stallError;
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
      const result = await runOnce(attempts);
      if (stopping) break;
      if (result.frames > 0) failures = 0;
      const err = classify(result);
      if (!err) {
        log.info({ attempt: attempts, frames: framesEmitted }, 'source ended');
        state = 'ended';
        queue.end();
        return;
      }
      failures++;
      lastError = err;
      if (!err.retryable || failures > options.maxRestarts) {
        const failed = new SourceFailedError(source.redacted, failures, err);
        state = 'failed';
        log.error({ code: err.code, err: err.message, attempts: failures, retryable: err.retryable }, 'giving up on the source');
        events.emit('sampler.failed', failed);
        queue.fail(failed);
        return;
      }
      const delayMs = backoffDelay(failures, options.backoffBaseMs, options.backoffMaxMs, deps.random);
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

  const done = loop().catch((err: unknown) => {
    // A bug in the loop itself: surface it as a terminal failure rather than a silent hang.
    const cause = new SourceError('ffmpeg_crashed', `sampler supervisor failed: ${(err as Error)?.message ?? String(err)}`, {
      retryable: false,
      cause: err,
    });
    state = 'failed';
    log.error({ err }, 'sampler supervisor failed');
    queue.fail(new SourceFailedError(source.redacted, Math.max(1, attempts), cause));
    if (current) void terminate(current, { graceful: false, graceMs: KILL_WAIT_MS });
  });

  let stopPromise: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopPromise ??= (async () => {
      stopping = true;
      queue.clear();
      wake?.();
      const child = current;
      // SIGTERM first: ffmpeg then closes its connection cleanly.
      if (child && !hasExited(child)) await terminate(child, { graceful: true, graceMs: options.stopGraceMs });
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
      ...(current?.pid !== undefined ? { pid: current.pid } : {}),
    }),
    done,
  };
}
