import { PublishError } from '../../domain/errors.js';
import { silentHooks, type Emitter } from '../../domain/hooks.js';
import type { Logger } from '../../domain/logger.js';
import { isConnectionClosed, type PublishCallOptions, type PublishReceipt } from '../../nats/index.js';
import type { WorkerEvents } from '../events.js';
import type { OutboxRecord, OutboxStore, StoredRecord } from './outbox-store.js';

/** Sends one recorded decision until JetStream acks it (the kit's durable publisher). */
export type RecordPublisher = (
  subject: string,
  type: string,
  eventId: string,
  payload: string,
  opts: PublishCallOptions,
) => Promise<PublishReceipt>;

/**
 * How often a running outbox looks for slots of dead processes sharing its directory: a worker
 * SIGKILLed beside this one has its last decisions published within this long.
 */
const ORPHAN_SCAN_MS = 5_000;

export interface OutboxLimits {
  /** Records kept on disk at most; past it a decision is kept in memory only (and counted). */
  readonly maxEntries: number;
  readonly maxBytes: number;
}

export interface OutboxDeps {
  readonly store: OutboxStore;
  readonly publish: RecordPublisher;
  readonly logger: Logger;
  readonly limits: OutboxLimits;
  /** `outbox.state` after every change and `outbox.event` per record. */
  readonly events?: Emitter<WorkerEvents>;
  readonly now?: () => number;
}

export interface OutboxHealth {
  readonly ok: boolean;
  readonly reasons: string[];
}

/**
 * Decisions on their way to JetStream. A decision is recorded (fsynced) before it is
 * published, so neither a NATS outage nor a crash loses it: records are published one at a
 * time, in the order they were made, each with its own event id as Nats-Msg-Id and retried
 * until acked; on a restart the records left on disk go first, with the same ids and bytes.
 */
export interface Outbox {
  /** Loads what earlier processes left (replayed first). */
  open(): Promise<void>;
  /** Starts publishing (once NATS is connected). */
  start(): void;
  /**
   * Resolves once the decision is on disk (or, outbox full or disk refusing, queued in memory:
   * counted and logged with its event id). Never waits for NATS.
   */
  record(subject: string, event: { readonly type: string; readonly eventId: string }, payload: string): Promise<void>;
  /** NATS is back: the waiting publish is retried now rather than after its backoff. */
  wake(): void;
  /** Resolves true once everything is published, false if the signal aborts first. */
  flush(signal?: AbortSignal): Promise<boolean>;
  /** Stops publishing; what is left stays on disk for the next process. */
  close(): Promise<void>;
  readonly depth: number;
  readonly bytes: number;
  health(): OutboxHealth;
}

export function createOutbox(deps: OutboxDeps): Outbox {
  return new OutboxImpl(deps);
}

class OutboxImpl implements Outbox {
  private readonly queue: StoredRecord[] = [];
  private size = 0;
  private readonly log: Logger;
  private readonly events: Emitter<WorkerEvents>;
  private readonly now: () => number;
  private readonly stopping = new AbortController();
  private attempt: AbortController | undefined;
  private wakeDrain: (() => void) | undefined;
  private draining: Promise<void> | undefined;
  private readonly flushWaiters = new Set<() => void>();
  /** Why the last record could not go to disk; cleared by the next one that did. */
  private diskProblem: string | undefined;
  private closed = false;
  private orphanTimer: NodeJS.Timeout | undefined;
  private scanning = false;

  constructor(private readonly deps: OutboxDeps) {
    this.log = deps.logger.child({ component: 'outbox' });
    this.events = deps.events ?? silentHooks<WorkerEvents>();
    this.now = deps.now ?? Date.now;
  }

  get depth(): number {
    return this.queue.length;
  }

  get bytes(): number {
    return this.size;
  }

  health(): OutboxHealth {
    const reasons: string[] = [];
    if (this.queue.length >= this.deps.limits.maxEntries || this.size >= this.deps.limits.maxBytes) {
      reasons.push(`outbox full (${this.queue.length} decisions, ${this.size} bytes): new ones are kept in memory only`);
    }
    if (this.diskProblem) reasons.push(`outbox cannot write to disk (${this.diskProblem})`);
    return { ok: reasons.length === 0, reasons };
  }

  async open(): Promise<void> {
    const pending = await this.deps.store.open();
    for (const r of pending) {
      this.queue.push(r);
      this.size += r.bytes;
      this.events.emit('outbox.event', { event: 'replayed' });
    }
    if (pending.length > 0) {
      this.log.warn(
        { count: pending.length, eventIds: pending.slice(0, 20).map((r) => r.eventId), slot: this.deps.store.slotDir },
        'decisions left by an earlier process: publishing them first',
      );
    }
    this.emitState();
  }

  start(): void {
    this.draining ??= this.drain();
    this.orphanTimer ??= setInterval(() => void this.adoptOrphans(), ORPHAN_SCAN_MS);
    this.orphanTimer.unref();
  }

  private async adoptOrphans(): Promise<void> {
    if (this.closed || this.scanning) return;
    this.scanning = true;
    try {
      for (const r of await this.deps.store.adoptOrphans()) {
        this.events.emit('outbox.event', { event: 'replayed' });
        this.log.warn({ eventId: r.eventId, type: r.type }, 'decision left by a process that died: publishing it');
        this.enqueue(r);
      }
    } catch (err) {
      this.log.warn({ err }, 'could not look for orphaned outbox slots');
    } finally {
      this.scanning = false;
    }
  }

  async record(subject: string, event: { readonly type: string; readonly eventId: string }, payload: string): Promise<void> {
    if (this.closed) throw new PublishError(`outbox closed: cannot record ${event.type} ${event.eventId}`, { retryable: false });
    const rec: OutboxRecord = { subject, type: event.type, eventId: event.eventId, payload, recordedAt: this.now() };
    const bytes = Buffer.byteLength(payload);
    const full = this.queue.length >= this.deps.limits.maxEntries || this.size + bytes > this.deps.limits.maxBytes;
    let stored: StoredRecord;
    if (full) {
      stored = this.inMemory(rec, bytes);
      this.events.emit('outbox.event', { event: 'overflow' });
      this.log.error(
        { eventId: rec.eventId, type: rec.type, depth: this.queue.length, bytes: this.size },
        'outbox full: decision kept in memory only (lost if this process dies before NATS takes it)',
      );
    } else {
      try {
        stored = await this.deps.store.write(rec);
        this.diskProblem = undefined;
        this.events.emit('outbox.event', { event: 'recorded' });
      } catch (err) {
        stored = this.inMemory(rec, bytes);
        this.diskProblem = err instanceof Error ? err.message : String(err);
        this.events.emit('outbox.event', { event: 'write_failed' });
        this.log.error({ err, eventId: rec.eventId, type: rec.type }, 'outbox write failed: decision kept in memory only');
      }
    }
    this.log.info({ eventId: rec.eventId, type: rec.type, subject, durable: stored.file !== undefined }, 'decision recorded');
    this.enqueue(stored);
  }

  wake(): void {
    this.attempt?.abort(new Error('woken: NATS is back'));
  }

  flush(signal?: AbortSignal): Promise<boolean> {
    if (this.queue.length === 0) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean): void => {
        this.flushWaiters.delete(onEmpty);
        signal?.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const onEmpty = (): void => done(true);
      const onAbort = (): void => done(false);
      this.flushWaiters.add(onEmpty);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.orphanTimer);
    this.stopping.abort(new Error('outbox closing'));
    this.wakeDrain?.();
    await this.draining;
    const inMemory = this.queue.filter((r) => r.file === undefined);
    if (inMemory.length > 0) {
      this.log.error({ eventIds: inMemory.map((r) => r.eventId) }, 'closing with decisions that were never written to disk: they are lost');
    }
    if (this.queue.length > 0) {
      this.log.warn(
        { pending: this.queue.length, slot: this.deps.store.slotDir },
        'outbox closed with decisions not yet published: the next process publishes them',
      );
    }
    await this.deps.store.close();
  }

  private inMemory(rec: OutboxRecord, bytes: number): StoredRecord {
    return { ...rec, seq: 0, bytes };
  }

  /** In recording order (two records written at once may finish writing out of order). */
  private enqueue(r: StoredRecord): void {
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.recordedAt > r.recordedAt) i--;
    this.queue.splice(i, 0, r);
    this.size += r.bytes;
    this.emitState();
    this.wakeDrain?.();
  }

  private async drain(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      const head = this.queue[0];
      if (!head) {
        await new Promise<void>((resolve) => (this.wakeDrain = resolve));
        this.wakeDrain = undefined;
        continue;
      }
      const attempt = new AbortController();
      this.attempt = attempt;
      try {
        const receipt = await this.deps.publish(head.subject, head.type, head.eventId, head.payload, {
          signal: AbortSignal.any([attempt.signal, this.stopping.signal]),
        });
        this.settled(head);
        this.events.emit('outbox.event', { event: 'published' });
        const log = head.replayed ? this.log.info.bind(this.log) : this.log.debug.bind(this.log);
        log(
          {
            eventId: head.eventId,
            type: head.type,
            seq: receipt.seq,
            duplicate: receipt.duplicate,
            waitedMs: this.now() - head.recordedAt,
          },
          head.replayed ? 'replayed decision published' : 'decision published',
        );
        await this.deps.store
          .remove(head)
          .catch((err: unknown) => this.log.warn({ err, eventId: head.eventId }, 'could not remove a published record'));
      } catch (err) {
        if (this.stopping.signal.aborted) return;
        if (attempt.signal.aborted) continue;
        if (isConnectionClosed(err)) {
          // The process is going away: what is left stays on disk for the next one.
          this.log.warn({ pending: this.queue.length }, 'NATS connection closed: outbox stops publishing');
          return;
        }
        // Only a publish that can never succeed gets here (the publisher retries everything else).
        this.settled(head);
        this.events.emit('outbox.event', { event: 'rejected' });
        this.log.error(
          { err, eventId: head.eventId, type: head.type, subject: head.subject },
          'JetStream refuses this decision for good: moved aside',
        );
        await this.deps.store
          .reject(head, err instanceof Error ? err.message : String(err))
          .catch((rerr: unknown) => this.log.error({ err: rerr, eventId: head.eventId }, 'could not move a refused record aside'));
      } finally {
        this.attempt = undefined;
      }
    }
  }

  private settled(r: StoredRecord): void {
    // By identity: a record whose write finished late may have been put in front of it meanwhile.
    const i = this.queue.indexOf(r);
    if (i >= 0) this.queue.splice(i, 1);
    this.size -= r.bytes;
    this.emitState();
    if (this.queue.length === 0) for (const w of [...this.flushWaiters]) w();
  }

  private emitState(): void {
    this.events.emit('outbox.state', {
      depth: this.queue.length,
      bytes: this.size,
      capacity: this.deps.limits.maxEntries,
      ...(this.queue[0] ? { oldestRecordedAt: this.queue[0].recordedAt } : {}),
    });
  }
}
