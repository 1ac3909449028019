/**
 * Known-video matching on a live stream: per stream, a sliding window over its sampled frames
 * accumulates which frames of which known videos it matched, and applies vPDQ's rule to the
 * window instead of to a finished upload:
 *  - share: the video's distinct frames matched within the window / its distinct frames (P_c),
 *    and the stream's frames that matched it / the stream's frames in the window (P_q);
 *  - run: a live stream may show only part of a known video, so a run of the video's timeline
 *    matched without a gap of more than a few of its frame intervals also counts once it spans
 *    minMatchedSeconds.
 * vPDQ treats videos as unordered bags of frames; the run rule alone uses the frames' times.
 *
 * No clock and no I/O: the screener feeds each frame's time and the video frames it matched.
 */
import type { HashMatch } from '../../contracts/index.js';
import type { VideoFrameHit, VideoRule } from '../../domain/ports.js';

interface Tracked {
  readonly list: string;
  readonly action: 'kill' | 'escalate';
  readonly video: string;
  readonly videoFrames: number;
  /** Largest gap (seconds of the video) a run may bridge: missed frames must not break it. */
  readonly maxGap: number;
  rule: VideoRule;
  /** Matched frames of the video: hash -> where in the video, when on the stream (ms), how close. */
  readonly hits: Map<string, { at: number; seenAt: number; distance: number }>;
  /** Stream times (ms) of the frames that matched the video. */
  readonly streamFrames: number[];
}

/** Frames a run may skip: at 1 fps on both sides a few frames a little over distance are normal. */
const RUN_GAP_FRAMES = 3;

export class VideoWindow {
  /** Stream times (ms) of every frame screened, within the longest window in use. */
  private readonly frames: number[] = [];
  private readonly tracked = new Map<string, Tracked>();

  /**
   * Records one screened frame (`at`, ms on the stream's clock) and the known-video frames it
   * matched; returns the video matches the window supports now, as hash matches carrying
   * `video` (the closest frame of the video as the matched entry).
   */
  observe(at: number, hits: readonly VideoFrameHit[]): HashMatch[] {
    this.frames.push(at);
    const touched = new Set<Tracked>();
    for (const hit of hits) {
      const key = `${hit.list}\u0000${hit.video}`;
      let t = this.tracked.get(key);
      if (!t) {
        t = {
          list: hit.list,
          action: hit.action,
          video: hit.video,
          videoFrames: hit.videoFrames,
          maxGap: Math.max(RUN_GAP_FRAMES * hit.step, 2),
          rule: hit.rule,
          hits: new Map(),
          streamFrames: [],
        };
        this.tracked.set(key, t);
      }
      t.rule = hit.rule;
      const seen = t.hits.get(hit.hash);
      t.hits.set(hit.hash, { at: hit.at, seenAt: at, distance: Math.min(hit.distance, seen?.distance ?? 256) });
      if (t.streamFrames[t.streamFrames.length - 1] !== at) t.streamFrames.push(at);
      touched.add(t);
    }
    this.prune(at);
    const out: HashMatch[] = [];
    for (const t of touched) {
      const m = this.judge(t, at);
      if (m) out.push(m);
    }
    return out;
  }

  private prune(now: number): void {
    let longest = 0;
    for (const [key, t] of this.tracked) {
      const since = now - t.rule.windowMs;
      for (const [hash, h] of t.hits) if (h.seenAt <= since) t.hits.delete(hash);
      while (t.streamFrames.length && t.streamFrames[0]! <= since) t.streamFrames.shift();
      if (t.hits.size === 0) this.tracked.delete(key);
      else longest = Math.max(longest, t.rule.windowMs);
    }
    const since = now - Math.max(longest, 1);
    while (this.frames.length > 1 && this.frames[0]! <= since) this.frames.shift();
  }

  private judge(t: Tracked, now: number): HashMatch | undefined {
    const since = now - t.rule.windowMs;
    const framesInWindow = this.frames.filter((f) => f > since).length;
    const share = Math.min(1, t.hits.size / t.videoFrames);
    const queryShare = framesInWindow ? t.streamFrames.length / framesInWindow : 0;
    const segment = longestRun(
      [...t.hits.values()].map((h) => h.at),
      t.maxGap,
    );
    const byShare = share >= t.rule.matchShare && queryShare >= t.rule.queryShare;
    const byRun = segment.end - segment.start >= t.rule.minMatchedSeconds;
    if (!byShare && !byRun) return undefined;
    let closest: [string, number] = ['', 257];
    for (const [hash, h] of t.hits)
      if (h.distance < closest[1] || (h.distance === closest[1] && hash < closest[0])) closest = [hash, h.distance];
    return {
      list: t.list,
      distance: closest[1],
      hash: closest[0],
      action: t.action,
      video: {
        id: t.video,
        share: round(share),
        queryShare: round(queryShare),
        matchedFrames: t.hits.size,
        videoFrames: t.videoFrames,
        segment,
        rule: byShare ? 'share' : 'run',
      },
    };
  }
}

/** The longest stretch of sorted times with no gap over `maxGap` (seconds into the video). */
export function longestRun(times: readonly number[], maxGap: number): { start: number; end: number } {
  const sorted = [...times].sort((a, b) => a - b);
  let best = { start: sorted[0] ?? 0, end: sorted[0] ?? 0 };
  let start = sorted[0] ?? 0;
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]! - sorted[i - 1]! > maxGap) start = sorted[i]!;
    if (sorted[i]! - start > best.end - best.start) best = { start, end: sorted[i]! };
  }
  return { start: round(best.start), end: round(best.end) };
}

const round = (v: number): number => Math.round(v * 1000) / 1000;
