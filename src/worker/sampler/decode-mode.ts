/**
 * Which frames ffmpeg decodes for one stream, decided from the keyframes it sees. Pure: the
 * sampler feeds it keyframe timestamps and the clock and acts on what it returns (restarting
 * ffmpeg with the other mode).
 *
 * Decoding keyframes only (`-skip_frame nokey`) costs about a tenth of decoding every frame of a
 * 720p30 H.264 stream, and a keyframe decodes to the same picture either way. It samples the
 * stream only as often as it has keyframes, so `auto` uses it while the keyframe interval is at
 * most `maxKeyframeIntervalMs` and decodes in full (at the configured fps) while it is longer.
 */
export type DecodeSetting = 'keyframes' | 'all' | 'auto';
export type DecodeMode = 'keyframes' | 'all';

/** Why the mode changed (a metric label); `degraded`: keyframes forced by graceful degradation. */
export type DecodeSwitchReason = 'sparse_keyframes' | 'no_keyframe' | 'dense_keyframes' | 'degraded';

export interface DecodeModeOptions {
  readonly setting: DecodeSetting;
  readonly maxKeyframeIntervalMs: number;
  /**
   * Graceful degradation (level 1+): an `auto` stream decodes keyframes only however sparse they
   * are, and one decoding in full goes back to keyframes at once. A stream set to `all` stays so.
   */
  readonly forceKeyframes?: boolean;
}

export interface DecodeModeState {
  readonly mode: DecodeMode;
  /** Wall clock of the last switch (or of the start). */
  readonly since: number;
  /** Recent keyframe intervals by the stream's own timestamps, newest last. */
  readonly intervalsMs: readonly number[];
  readonly lastKeyPts?: number;
  /** Wall clock of the last keyframe seen in this mode; undefined until the first one. */
  readonly lastKeyAt?: number;
  /** Fallbacks to full decoding so far: each one doubles the time before keyframes are tried again. */
  readonly fallbacks: number;
}

export type DecodeStep =
  | { readonly kind: 'stay'; readonly state: DecodeModeState }
  | { readonly kind: 'switch'; readonly state: DecodeModeState; readonly reason: DecodeSwitchReason };

/**
 * Encoders told "a keyframe every 2 s" emit intervals a frame or a rounding longer (2.033 s at
 * 30 fps); 5 % of slack keeps those streams on keyframes.
 */
const INTERVAL_SLACK = 1.05;
/**
 * Backstop in keyframe mode: no keyframe for this many intervals means they are too sparse even
 * before the next one shows how far apart they are (a 30 s GOP falls back after 3 s, not 30 s).
 */
const NO_KEYFRAME_FACTOR = 1.5;
/** Intervals that must all be short before full decoding returns to keyframes. */
const DENSE_INTERVALS = 3;
/**
 * Time in full decoding before keyframes are tried again, doubled at every further fallback
 * (capped): each switch restarts ffmpeg and costs up to a GOP of frames, so a stream whose GOP
 * wanders around the limit must not flap.
 */
export const FULL_DECODE_HOLD_MS = 30_000;
const FULL_DECODE_HOLD_MAX_MS = 600_000;
const INTERVALS_KEPT = 8;

export function initialDecodeState(o: DecodeModeOptions, now: number): DecodeModeState {
  // auto starts on keyframes: the cheap mode, and its first intervals show whether it holds.
  return { mode: o.setting === 'all' ? 'all' : 'keyframes', since: now, intervalsMs: [], fallbacks: 0 };
}

/** A keyframe with this presentation time (seconds) was decoded at wall clock `now`. */
export function onKeyframe(state: DecodeModeState, ptsSec: number | undefined, now: number, o: DecodeModeOptions): DecodeStep {
  let intervalsMs = state.intervalsMs;
  if (ptsSec !== undefined && state.lastKeyPts !== undefined && ptsSec > state.lastKeyPts) {
    intervalsMs = [...intervalsMs, (ptsSec - state.lastKeyPts) * 1000].slice(-INTERVALS_KEPT);
  }
  const next: DecodeModeState = { ...state, intervalsMs, lastKeyPts: ptsSec ?? state.lastKeyPts, lastKeyAt: now };
  if (o.setting !== 'auto') return { kind: 'stay', state: next };
  if (o.forceKeyframes) return state.mode === 'keyframes' ? { kind: 'stay', state: next } : forceKeyframes(next, now);
  const limit = o.maxKeyframeIntervalMs * INTERVAL_SLACK;
  const latest = intervalsMs.at(-1);
  if (state.mode === 'keyframes') {
    if (latest !== undefined && latest > limit && intervalsMs !== state.intervalsMs) return fallBack(next, now, 'sparse_keyframes');
    return { kind: 'stay', state: next };
  }
  const recent = intervalsMs.slice(-DENSE_INTERVALS);
  const dense = recent.length === DENSE_INTERVALS && recent.every((ms) => ms <= limit);
  if (dense && now - state.since >= holdMs(state.fallbacks)) {
    return { kind: 'switch', reason: 'dense_keyframes', state: { ...next, mode: 'keyframes', since: now, lastKeyAt: undefined } };
  }
  return { kind: 'stay', state: next };
}

/** Clock tick: in keyframe mode, keyframes that stopped coming count as too sparse. */
export function onTick(state: DecodeModeState, now: number, o: DecodeModeOptions): DecodeStep {
  if (o.setting !== 'auto' || o.forceKeyframes || state.mode !== 'keyframes' || state.lastKeyAt === undefined)
    return { kind: 'stay', state };
  if (now - state.lastKeyAt > o.maxKeyframeIntervalMs * NO_KEYFRAME_FACTOR) return fallBack(state, now, 'no_keyframe');
  return { kind: 'stay', state };
}

/** When onTick next needs calling (ms from now), or undefined while nothing can time out. */
export function nextTickInMs(state: DecodeModeState, now: number, o: DecodeModeOptions): number | undefined {
  if (o.setting !== 'auto' || o.forceKeyframes || state.mode !== 'keyframes' || state.lastKeyAt === undefined) return undefined;
  return Math.max(0, state.lastKeyAt + o.maxKeyframeIntervalMs * NO_KEYFRAME_FACTOR - now + 1);
}

/**
 * The options changed (degradation forced keyframes, or stopped forcing them): an `auto` stream
 * decoding in full switches to keyframes now rather than at its next keyframe, which on a stream
 * with sparse keyframes may be many seconds away.
 */
export function onOptionsChanged(state: DecodeModeState, now: number, o: DecodeModeOptions): DecodeStep {
  if (o.setting === 'auto' && o.forceKeyframes && state.mode === 'all') return forceKeyframes(state, now);
  return { kind: 'stay', state };
}

function forceKeyframes(state: DecodeModeState, now: number): DecodeStep {
  return { kind: 'switch', reason: 'degraded', state: { ...state, mode: 'keyframes', since: now, lastKeyAt: undefined } };
}

/** The last measured keyframe interval, if two keyframes have been seen. */
export function keyframeIntervalMs(state: DecodeModeState): number | undefined {
  return state.intervalsMs.at(-1);
}

function fallBack(state: DecodeModeState, now: number, reason: DecodeSwitchReason): DecodeStep {
  return { kind: 'switch', reason, state: { ...state, mode: 'all', since: now, fallbacks: state.fallbacks + 1 } };
}

function holdMs(fallbacks: number): number {
  return Math.min(FULL_DECODE_HOLD_MS * 2 ** Math.max(0, fallbacks - 1), FULL_DECODE_HOLD_MAX_MS);
}
