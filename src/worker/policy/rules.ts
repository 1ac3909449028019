import type { EscalationPriority } from '../../contracts/index.js';
import type { PolicyOptions } from '../../config/index.js';
import type { FrameSignals } from '../../domain/signals.js';
import { explicitScore } from './face-gate.js';
import { possibleMinor } from './possible-minor.js';

/** Reason classes: "one open case per stream and reason class". */
export const HASH_MATCH_CLASS = 'hash_match';
export const UNSCREENED_CLASS = 'unscreened';
export const EXPLICIT_SIGNAL = 'explicit';
export const classifierClass = (signal: string): string => `classifier:${signal}`;

/** What one classified frame says about one classifier signal. */
export interface SignalReading {
  readonly reasonClass: string;
  readonly signal: string;
  readonly score: number;
  /** The priority this frame alone would escalate at; none when under threshold. */
  readonly level: EscalationPriority | 'none';
  /** The threshold of the rule that applies to this frame (the lower one when a possible minor makes it critical). */
  readonly threshold: number;
  /** The rule that fires when this reading escalates. */
  readonly rule: string;
  readonly possibleMinor: boolean;
  /** Youngest finite apparent age, when a possible minor was seen. */
  readonly minAge?: number;
}

/**
 * The classifier rules for one frame, before smoothing:
 * - explicit (nudity model's porn + hentai): with a possible minor in the frame it counts from
 *   nudityWithMinorEscalateAt and is critical (rule explicit_with_possible_minor); alone from
 *   nudityEscalateAt and normal (rule explicit);
 * - each drop-in signal in customEscalateAt: high alone (custom_signal), critical with a
 *   possible minor (custom_signal_with_possible_minor).
 * Signals the frame does not have (a model off or shed) give no reading: nothing is counted.
 */
export function readSignals(signals: FrameSignals, options: PolicyOptions): SignalReading[] {
  const readings: SignalReading[] = [];
  const minor = signals.faces !== undefined && possibleMinor(signals.faces, options.challengeAge);
  // NaN ages (a face the age model could not read) count as possible minors (possible-minor.ts) but have
  // no age to report; reviewers get the youngest real estimate, or none.
  const ages = minor ? (signals.faces ?? []).map((f) => f.age).filter(Number.isFinite) : [];
  const minAge = ages.length ? { minAge: Math.min(...ages) } : {};

  const nudity = signals.nudity;
  if (nudity) {
    // Capped at 1: a model whose classes do not sum to 1 must not put an out-of-range score on the wire.
    const score = Math.min(1, explicitScore(nudity));
    const withMinor = minor && score >= options.nudityWithMinorEscalateAt;
    readings.push({
      reasonClass: classifierClass(EXPLICIT_SIGNAL),
      signal: EXPLICIT_SIGNAL,
      score,
      level: withMinor ? 'critical' : score >= options.nudityEscalateAt ? 'normal' : 'none',
      threshold: withMinor ? options.nudityWithMinorEscalateAt : options.nudityEscalateAt,
      rule: withMinor ? 'explicit_with_possible_minor' : 'explicit',
      possibleMinor: withMinor,
      ...(withMinor ? minAge : {}),
    });
  }
  for (const [signal, threshold] of Object.entries(options.customEscalateAt)) {
    const raw = signals.custom?.[signal];
    if (raw === undefined) continue;
    const score = Math.max(0, Math.min(1, raw));
    const over = score >= threshold;
    readings.push({
      reasonClass: classifierClass(signal),
      signal,
      score,
      level: over ? (minor ? 'critical' : 'high') : 'none',
      threshold,
      rule: over && minor ? 'custom_signal_with_possible_minor' : 'custom_signal',
      possibleMinor: over && minor,
      ...(over && minor ? minAge : {}),
    });
  }
  return readings;
}
