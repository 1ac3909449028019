import type { FrameSignals } from '../../domain/signals.js';
import { explicitScore } from '../policy/index.js';

/**
 * A frame's risk for degradation: the highest of its explicit score (porn + hentai, what every
 * nudity rule reads) and its drop-in signals. Faces are left out: apparent age only matters
 * together with one of those.
 */
export function riskOf(signals: FrameSignals): number {
  let risk = explicitScore(signals.nudity);
  for (const v of Object.values(signals.custom ?? {})) if (v > risk) risk = v;
  return risk;
}

/** The last `size` risk scores of one stream; `max` is undefined until a frame was classified. */
export class RiskMemory {
  readonly #scores: number[] = [];
  constructor(readonly size: number) {}

  record(score: number): void {
    this.#scores.push(score);
    if (this.#scores.length > this.size) this.#scores.shift();
  }

  get max(): number | undefined {
    return this.#scores.length === 0 ? undefined : Math.max(...this.#scores);
  }
}

export interface StreamRisk {
  readonly streamId: string;
  /** Undefined: never classified here yet (unknown, so never low-risk). */
  readonly max: number | undefined;
  readonly openCase: boolean;
}

/**
 * Whether `streamId` is among the lowest-risk streams: in the lower half of the held streams
 * ranked by recent risk (unknown ranks highest; ties by id, so the choice is stable), and never
 * a stream with an open case, an unknown risk, or a recent score at or above `floor`.
 */
export function isLowRisk(streamId: string, streams: readonly StreamRisk[], floor: number): boolean {
  const me = streams.find((s) => s.streamId === streamId);
  if (!me || me.openCase || me.max === undefined || me.max >= floor) return false;
  const key = (s: StreamRisk): number => (s.max === undefined ? Number.POSITIVE_INFINITY : s.max);
  const ranked = [...streams].sort((a, b) => key(a) - key(b) || (a.streamId < b.streamId ? -1 : a.streamId > b.streamId ? 1 : 0));
  return ranked.findIndex((s) => s.streamId === streamId) < Math.floor(ranked.length / 2);
}
