import type { RawFrame } from '../../domain/frame.js';

export interface FrameStamperOptions {
  readonly streamId: string;
  /** seq of this run's first frame: the count continues across ffmpeg restarts. */
  readonly firstSeq: number;
  /** How long a frame may wait for its pts line before it goes out with an estimate. */
  readonly waitMs: number;
  /** Epoch ms the sampler started: the origin of estimated pts when no real pts was ever seen. */
  readonly originMs: number;
  /** Last pts/capturedAt stamped by an earlier run, to keep estimates continuous across restarts. */
  readonly previous?: { readonly pts: number; readonly capturedAt: number };
}

interface Pending {
  readonly index: number;
  readonly data: Buffer;
  readonly capturedAt: number;
  readonly width: number;
  readonly height: number;
}

/**
 * Pairs each frame from ffmpeg's stdout with the pts that showinfo printed for it on stderr. The
 * two arrive on different pipes: ffmpeg writes the log line first, but the reader may see the
 * frame first, so a finished frame waits (briefly, in order) for its line. The n-th frame of a
 * run is showinfo's frame n because the output runs with passthrough frame timing (nothing
 * dropped or duplicated after the filter).
 */
export class FrameStamper {
  readonly #o: FrameStamperOptions;
  readonly #ptsByIndex = new Map<number, number | undefined>();
  readonly #pending: Pending[] = [];
  #nextIndex = 0;
  #nextSeq: number;
  #last: { pts: number; capturedAt: number } | undefined;
  #estimated = 0;

  constructor(options: FrameStamperOptions) {
    this.#o = options;
    this.#nextSeq = options.firstSeq;
    this.#last = options.previous ? { ...options.previous } : undefined;
  }

  /** seq the next frame will get (the next run's firstSeq). */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** The last stamped pts and its capture time (the next run's `previous`). */
  get last(): { pts: number; capturedAt: number } | undefined {
    return this.#last;
  }

  /** Frames that went out with an estimated pts because their showinfo line never came in time. */
  get estimatedCount(): number {
    return this.#estimated;
  }

  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Epoch ms by which the oldest waiting frame must go out, if any is waiting. */
  get deadline(): number | undefined {
    const head = this.#pending[0];
    return head ? head.capturedAt + this.#o.waitMs : undefined;
  }

  /** A complete width x height frame left ffmpeg at `capturedAt`; returns the frames now ready, in order. */
  frame(data: Buffer, capturedAt: number, width: number, height: number): RawFrame[] {
    this.#pending.push({ index: this.#nextIndex++, data, capturedAt, width, height });
    return this.#drain(capturedAt, false);
  }

  /** showinfo reported output frame `n` with `pts` seconds (undefined: the frame had none). */
  pts(n: number, pts: number | undefined, now: number): RawFrame[] {
    this.#ptsByIndex.set(n, pts);
    return this.#drain(now, false);
  }

  /** Releases frames whose wait is over (call at `deadline`). */
  expire(now: number): RawFrame[] {
    return this.#drain(now, false);
  }

  /** The run is over and no more pts lines will come: everything waiting goes out now. */
  flush(now: number): RawFrame[] {
    return this.#drain(now, true);
  }

  #drain(now: number, all: boolean): RawFrame[] {
    const out: RawFrame[] = [];
    for (;;) {
      const head = this.#pending[0];
      if (!head) break;
      const known = this.#ptsByIndex.has(head.index);
      if (!known && !all && now < head.capturedAt + this.#o.waitMs) break;
      this.#pending.shift();
      let pts = this.#ptsByIndex.get(head.index);
      this.#ptsByIndex.delete(head.index);
      if (pts === undefined) {
        this.#estimated++;
        pts = this.#estimate(head.capturedAt);
      }
      this.#last = { pts, capturedAt: head.capturedAt };
      out.push({
        streamId: this.#o.streamId,
        seq: this.#nextSeq++,
        pts,
        capturedAt: head.capturedAt,
        width: head.width,
        height: head.height,
        data: head.data,
      });
    }
    // Lines for frames already gone (should not happen; guards against unbounded growth).
    if (this.#ptsByIndex.size > 64) {
      for (const k of this.#ptsByIndex.keys()) if (k < this.#nextIndex - 64) this.#ptsByIndex.delete(k);
    }
    return out;
  }

  #estimate(capturedAt: number): number {
    if (this.#last) return this.#last.pts + Math.max(0, capturedAt - this.#last.capturedAt) / 1000;
    return Math.max(0, capturedAt - this.#o.originMs) / 1000;
  }
}
