/**
 * Holds ffmpeg's raw video byte stream until whole frames can be cut from it. Pipe reads arrive
 * in pieces of any size (64 KiB on Linux), so a frame usually spans many chunks and a chunk may
 * end mid-row. Chunks are kept as they came; each byte is copied at most once, into its frame's
 * own buffer, and a frame lying wholly inside one chunk is handed out as a view of that chunk.
 */
export class FrameAssembler {
  readonly #chunks: Buffer[] = [];
  readonly #arrivals: number[] = [];
  /** Bytes of #chunks[0] already handed out. */
  #headOffset = 0;
  #buffered = 0;

  /** Bytes received and not yet cut into a frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Appends a chunk read at `at` (epoch ms). */
  push(chunk: Uint8Array, at: number): void {
    if (chunk.length === 0) return;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.#chunks.push(buf);
    this.#arrivals.push(at);
    this.#buffered += buf.length;
  }

  /**
   * The next `bytes` bytes as one frame, with the time its last byte arrived, or undefined when
   * fewer are buffered (nothing is consumed then).
   */
  take(bytes: number): { data: Buffer; at: number } | undefined {
    if (!Number.isInteger(bytes) || bytes <= 0) throw new RangeError(`frame size must be a positive integer, got ${bytes}`);
    if (this.#buffered < bytes) return undefined;
    const head = this.#chunks[0] as Buffer;
    if (head.length - this.#headOffset >= bytes) {
      const data = head.subarray(this.#headOffset, this.#headOffset + bytes);
      const at = this.#arrivals[0] as number;
      this.#advance(bytes);
      return { data, at };
    }
    const data = Buffer.allocUnsafe(bytes);
    let filled = 0;
    let at = 0;
    while (filled < bytes) {
      const chunk = this.#chunks[0] as Buffer;
      const n = Math.min(bytes - filled, chunk.length - this.#headOffset);
      chunk.copy(data, filled, this.#headOffset, this.#headOffset + n);
      filled += n;
      at = this.#arrivals[0] as number;
      this.#advance(n);
    }
    return { data, at };
  }

  /** Drops what is buffered (ffmpeg exited mid-frame); returns how many bytes were discarded. */
  reset(): number {
    const dropped = this.#buffered;
    this.#chunks.length = 0;
    this.#arrivals.length = 0;
    this.#headOffset = 0;
    this.#buffered = 0;
    return dropped;
  }

  #advance(n: number): void {
    this.#buffered -= n;
    this.#headOffset += n;
    const head = this.#chunks[0];
    if (head && this.#headOffset >= head.length) {
      this.#chunks.shift();
      this.#arrivals.shift();
      this.#headOffset = 0;
    }
  }
}
