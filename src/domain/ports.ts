import type {
  CaseEvent,
  EscalationEvent,
  EvidenceFrame,
  HashMatch,
  KillSwitchEvent,
  QuarantineEvent,
  ScreeningFailureEvent,
} from '../contracts/index.js';
import type { StreamCases } from './cases.js';
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
  /** `screening.escalation.{opened,updated,closed}.<streamId>`. */
  caseEvent(event: CaseEvent, signal?: AbortSignal): Promise<void>;
}

/** One storyboard frame to store: its pixels, as sampled, and its PDQ hash when known. */
export interface EvidenceSource {
  readonly frame: RawFrame;
  /** Lower-case hex. */
  readonly pdqHash?: string;
}

export interface EvidenceRequest {
  readonly streamId: string;
  readonly caseId: string;
  /** Oldest first; the last one is the frame the rule fired on. */
  readonly frames: readonly EvidenceSource[];
  /** Also keep the decisive frame's original (kill-switches and hash matches). */
  readonly preserveOriginal: boolean;
}

/** Stores evidence renditions (reviewer copies, preserved originals) and says where they are. */
export interface EvidenceStore {
  store(request: EvidenceRequest, signal?: AbortSignal): Promise<EvidenceFrame[]>;
}

/**
 * A stream's case state that must outlive the worker holding it (KV). save() resolves to the
 * state now stored: when another writer changed it meanwhile, the merge of both.
 */
export interface CaseStateStore {
  load(streamId: string): Promise<StreamCases>;
  save(streamId: string, cases: StreamCases): Promise<StreamCases>;
}

/** Puts a PDQ hash on a named hash list (the Object Store distribution); resolves to the list version now holding it. */
export interface HashListEditor {
  add(list: { readonly id: string; readonly action: 'kill' | 'escalate'; readonly hash: string; readonly label?: string }): Promise<string>;
}
