import type { RawFrame } from '../../domain/frame.js';
import type { PdqHash } from '../../domain/pdq.js';

/** A sampled frame as the storyboard needs it: the pixels ffmpeg gave and the frame's PDQ hash. */
export interface RingFrame {
  readonly frame: RawFrame;
  readonly hash?: PdqHash;
}

/**
 * The last N sampled frames of one stream, for the storyboard around a decision. It holds
 * references, never copies: the sampler hands every frame its own buffer (sampler/framer.ts
 * copies a frame out of ffmpeg's pipe chunks at most once, and nothing writes to it afterwards),
 * so keeping a frame costs only the memory it already had: N x width x height x 3 bytes per
 * stream, 4.5 MiB at the defaults (6 frames of 512x512). push() is O(1) with no allocation.
 */
export class FrameRing {
  readonly #slots: (RingFrame | undefined)[];
  #next = 0;
  #size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be an integer >= 1, got ${capacity}`);
    this.#slots = new Array<RingFrame | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(entry: RingFrame): void {
    this.#slots[this.#next] = entry;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#size < this.capacity) this.#size++;
  }

  /** The frames held, oldest first (a new array of the same references). */
  snapshot(): RingFrame[] {
    const out: RingFrame[] = [];
    const start = (this.#next - this.#size + this.capacity) % this.capacity;
    for (let i = 0; i < this.#size; i++) out.push(this.#slots[(start + i) % this.capacity]!);
    return out;
  }

  /** Lets the frames go (the stream ended). */
  clear(): void {
    this.#slots.fill(undefined);
    this.#next = 0;
    this.#size = 0;
  }
}
