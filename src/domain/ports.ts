import type { EscalationEvent, HashMatch, KillSwitchEvent, QuarantineEvent, ScreeningFailureEvent } from '../contracts/index.js';
import type { RawFrame, RgbImage } from './frame.js';
import type { PdqDihedralResult, PdqHash, PdqResult } from './pdq.js';
import type { FrameSignals } from './signals.js';

/**
 * The seams between stages. The pipeline only knows these; main.ts adapts each stage's
 * implementation to them, so stages never import one another.
 */

/** A running ffmpeg sampler for one stream. */
export interface FrameSource {
  frames(): AsyncIterable<RawFrame>;
  stop(): Promise<void>;
}

export interface FrameSourceRequest {
  readonly streamId: string;
  readonly url: string;
  readonly signal: AbortSignal;
}

export type FrameSourceFactory = (request: FrameSourceRequest) => FrameSource;

export interface FrameHasher {
  hash(image: RgbImage): PdqResult;
  /** The 8 dihedral hashes (orig first), for matching rotated or mirrored streams. */
  hashDihedral?(image: RgbImage): PdqDihedralResult;
}

/** A frame hash within a negative list's distance: the frame's other matches are suppressed. */
export interface NegativeHit {
  readonly list: string;
  readonly label?: string;
  readonly distance: number;
  readonly hash: string;
}

/** The rule a known-video list decides a video match by, and the window it looks over. */
export interface VideoRule {
  readonly windowMs: number;
  readonly matchShare: number;
  readonly queryShare: number;
  readonly minMatchedSeconds: number;
}

/** A frame hash within distance of a frame of a known video (a vpdq list). */
export interface VideoFrameHit {
  readonly list: string;
  readonly action: 'kill' | 'escalate';
  readonly video: string;
  /** The video's distinct frames (of quality >= 50): the denominator of its matched share. */
  readonly videoFrames: number;
  /** Median seconds between the video's listed frames. */
  readonly step: number;
  /** The matched frame of the video: its hash and where it first appears (seconds). */
  readonly hash: string;
  readonly at: number;
  readonly distance: number;
  readonly rule: VideoRule;
}

/** What one frame's hashes matched. */
export interface FrameMatches {
  /** Matches on kill and escalate lists that act: none when a negative list matched. */
  readonly matches: readonly HashMatch[];
  /** Negative-list hits (why `suppressed` is not acting). */
  readonly negative: readonly NegativeHit[];
  /** Matches a negative hit suppressed: counted and logged, never acted on. */
  readonly suppressed: readonly HashMatch[];
  /** Frames of known videos this frame matched (none when a negative list matched): evidence for a video match. */
  readonly videoFrames: readonly VideoFrameHit[];
}

export interface HashMatcher {
  /** False until the first hash lists are loaded: a worker must not screen without them. */
  readonly ready: boolean;
  /** Acting matches for one frame hash; [] when the frame's quality is too low to match on. */
  match(hash: PdqHash, quality: number): HashMatch[];
  /** Acting matches for the dihedral hashes of one frame, each list entry once at its smallest distance. */
  matchAny(hashes: readonly PdqHash[], quality: number): HashMatch[];
  /** Everything one frame's hashes (one, or the 8 dihedral) matched, negative lists applied. */
  matchFrame(hashes: readonly PdqHash[], quality: number): FrameMatches;
}

/** What the flood quarantine made of a frame's acting matches. */
export interface GateResult {
  /** Matches that act. */
  readonly acting: readonly HashMatch[];
  /** Matches of quarantined entries: counted and logged, not acted on. */
  readonly quarantined: readonly HashMatch[];
  /** Entries this call quarantined: to report (screening.quarantine). */
  readonly newlyQuarantined: readonly QuarantineEvent[];
}

/** Flood quarantine (hash/quarantine.ts): entries matching on too many streams stop acting. */
export interface MatchGate {
  screen(streamId: string, matches: readonly HashMatch[]): Promise<GateResult>;
}

export interface FrameClassifier {
  readonly ready: boolean;
  classify(image: RgbImage): Promise<FrameSignals>;
}

/** Durable publishing; each call resolves once the server acked, retrying until then or abort. */
export interface DecisionSink {
  killSwitch(event: KillSwitchEvent, signal?: AbortSignal): Promise<void>;
  escalation(event: EscalationEvent, signal?: AbortSignal): Promise<void>;
  failure(event: ScreeningFailureEvent, signal?: AbortSignal): Promise<void>;
  quarantine(event: QuarantineEvent, signal?: AbortSignal): Promise<void>;
}
