/** What the classifiers said about one frame. Every field is optional: a stage may be off or shed. */
export interface FaceSignal {
  /** x, y, width, height in the frame's pixels. */
  readonly box: readonly [number, number, number, number];
  readonly score: number;
  /** Apparent age in years: an estimate, never a certainty. */
  readonly age: number;
}

export interface FrameSignals {
  /** Class probabilities of the nudity model (drawing, hentai, neutral, porn, sexy). */
  readonly nudity?: Readonly<Record<string, number>>;
  /** Faces with apparent ages; what counts as a possible minor is the policy's to decide. */
  readonly faces?: readonly FaceSignal[];
  /** Named signals from drop-in classifiers (manifest-mapped outputs), 0..1. */
  readonly custom?: Readonly<Record<string, number>>;
}
