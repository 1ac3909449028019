/**
 * A single-consumer queue that keeps only the newest `capacity` items. Screening a stale frame
 * is worth less than screening the current one, and ffmpeg's pipe must keep draining whatever
 * the consumer does, so a slow consumer loses the oldest frames (counted) instead of queueing
 * without bound or stalling ffmpeg.
 */
export class LatestQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  #ended = false;
  #error: unknown;
  #dropped = 0;
  #iterated = false;

  constructor(
    readonly capacity: number,
    private readonly onReturn?: () => void,
    private readonly onDrop?: (item: T) => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be an integer >= 1, got ${capacity}`);
  }

  get dropped(): number {
    return this.#dropped;
  }

  get size(): number {
    return this.#items.length;
  }

  get closed(): boolean {
    return this.#ended;
  }

  push(item: T): void {
    if (this.#ended) return;
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      w.resolve({ value: item, done: false });
      return;
    }
    this.#items.push(item);
    while (this.#items.length > this.capacity) {
      const old = this.#items.shift() as T;
      this.#dropped++;
      this.onDrop?.(old);
    }
  }

  /** No more items: the consumer gets what is queued, then the end. */
  end(): void {
    this.#close(undefined, false);
  }

  /** No more items: the consumer gets what is queued, then `err` is thrown from its loop. */
  fail(err: unknown): void {
    this.#close(err, true);
  }

  /** Ends at once, discarding what is queued (stop). */
  clear(): void {
    this.#items.length = 0;
    this.end();
  }

  #close(err: unknown, failed: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    if (failed) this.#error = err ?? new Error('queue failed');
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      if (failed) w.reject(this.#error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  #next(): Promise<IteratorResult<T>> {
    if (this.#items.length) return Promise.resolve({ value: this.#items.shift() as T, done: false });
    if (this.#ended) {
      if (this.#error !== undefined) {
        const e = this.#error;
        this.#error = undefined; // thrown once; afterwards the iterator is simply done
        // The producer's error as it was given (a SourceError): the consumer's for-await throws it.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        return Promise.reject(e);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.#waiter) return Promise.reject(new Error('LatestQueue supports one pending next() at a time'));
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterated) throw new Error('frames() can be iterated only once');
    this.#iterated = true;
    return {
      next: () => this.#next(),
      return: async () => {
        // The consumer left its loop (break, throw): it wants no more frames.
        this.clear();
        this.onReturn?.();
        return { value: undefined, done: true };
      },
    };
  }
}
