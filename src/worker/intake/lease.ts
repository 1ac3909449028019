import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import { monotonicMs } from './time.js';

/** What a lease entry holds; times are the writer's clock and only informational. */
export interface LeaseValue {
  readonly workerId: string;
  readonly streamId: string;
  readonly acquiredAt: string;
  readonly renewedAt: string;
}

export interface LeaseTimings {
  readonly leaseTtlMs: number;
  readonly heartbeatMs: number;
  readonly clockSkewToleranceMs: number;
  readonly requestTimeoutMs: number;
}

export type AcquireOutcome =
  | { readonly kind: 'acquired'; readonly lease: HeldLease; readonly previousHolder?: string }
  | { readonly kind: 'held'; readonly holder: string; readonly retryInMs: number };

export interface LeaseClock {
  /** Wall clock, only to age another worker's entry by its server timestamp. */
  wallMs(): number;
  /** Monotonic clock for our own deadlines. */
  monoMs(): number;
}

const systemClock: LeaseClock = { wallMs: () => Date.now(), monoMs: monotonicMs };

/**
 * Per-stream leases in a KV bucket whose max_age is the lease TTL. Every write is a
 * compare-and-swap on the entry's revision, so at most one worker's renewals can succeed, and
 * the server deletes an entry nobody renewed: a dead worker's lease disappears without anyone
 * having to judge it by clock. An entry the server should have expired but has not (its
 * timestamp older than TTL + clock-skew tolerance by our clock) is also taken over, by CAS.
 */
export class LeaseStore {
  constructor(
    private readonly kv: KV,
    private readonly workerId: string,
    private readonly t: LeaseTimings,
    private readonly clock: LeaseClock = systemClock,
  ) {}

  async acquire(streamId: string): Promise<AcquireOutcome> {
    const entry = await this.kv.get(streamId);
    const now = new Date(this.clock.wallMs()).toISOString();
    const value: LeaseValue = { workerId: this.workerId, streamId, acquiredAt: now, renewedAt: now };
    if (!entry || entry.operation !== 'PUT') {
      const sentAt = this.clock.monoMs();
      try {
        const revision = await this.kv.create(streamId, JSON.stringify(value));
        return { kind: 'acquired', lease: this.held(streamId, value, revision, sentAt) };
      } catch (err) {
        if (!isCasConflict(err)) throw err;
        // Another worker created it between our read and write: it is theirs and fresh.
        return { kind: 'held', holder: 'unknown', retryInMs: this.t.leaseTtlMs + 250 };
      }
    }
    const holder = parseLease(entry)?.workerId ?? 'unreadable';
    const ageMs = this.clock.wallMs() - entry.created.getTime();
    // Our own id with no local holder is a leftover of ours (a release that failed): reclaim it.
    const stale = holder === this.workerId || ageMs > this.t.leaseTtlMs + this.t.clockSkewToleranceMs;
    if (!stale) {
      // Come back just after the server would expire it if the holder stopped renewing now.
      const retryInMs = clamp(this.t.leaseTtlMs - ageMs + 250, 250, this.t.leaseTtlMs + 250);
      return { kind: 'held', holder, retryInMs };
    }
    const sentAt = this.clock.monoMs();
    try {
      const revision = await this.kv.update(streamId, JSON.stringify(value), entry.revision, this.t.requestTimeoutMs);
      return { kind: 'acquired', lease: this.held(streamId, value, revision, sentAt), previousHolder: holder };
    } catch (err) {
      if (!isCasConflict(err)) throw err;
      return { kind: 'held', holder: 'unknown', retryInMs: this.t.leaseTtlMs + 250 };
    }
  }

  /** Reads the current holder (for diagnostics and tests). */
  async holder(streamId: string): Promise<(LeaseValue & { revision: number; created: Date }) | undefined> {
    const entry = await this.kv.get(streamId);
    if (!entry || entry.operation !== 'PUT') return undefined;
    const v = parseLease(entry);
    return v ? { ...v, revision: entry.revision, created: entry.created } : undefined;
  }

  private held(streamId: string, value: LeaseValue, revision: number, sentAt: number): HeldLease {
    return new HeldLease(this.kv, this.workerId, streamId, value, revision, sentAt, this.t, this.clock);
  }
}

export type RenewOutcome = 'renewed' | 'lost' | 'unreachable';

/**
 * A lease this worker holds. Operations are serialized so an ownership check never races our
 * own renewal (it would read the new revision before we recorded it and cry "lost").
 */
export class HeldLease {
  private queue: Promise<unknown> = Promise.resolve();
  private lostFlag = false;
  private releasedFlag = false;

  constructor(
    private readonly kv: KV,
    readonly workerId: string,
    readonly streamId: string,
    private value: LeaseValue,
    private rev: number,
    /** Monotonic time the last successful write was *sent*: the server stamped it later. */
    private confirmedSentAt: number,
    private readonly t: LeaseTimings,
    private readonly clock: LeaseClock,
  ) {}

  get revision(): number {
    return this.rev;
  }

  get lost(): boolean {
    return this.lostFlag;
  }

  get released(): boolean {
    return this.releasedFlag;
  }

  /**
   * The server cannot expire our entry before confirmedSentAt + TTL. Giving up two heartbeats
   * earlier leaves a full heartbeat for the tick that notices to stop the screening.
   */
  get localDeadline(): number {
    return this.confirmedSentAt + this.t.leaseTtlMs - 2 * this.t.heartbeatMs;
  }

  /** Held as far as this process can tell without asking the server. */
  isLocallyValid(): boolean {
    return !this.lostFlag && !this.releasedFlag && this.clock.monoMs() < this.localDeadline;
  }

  markLost(): void {
    this.lostFlag = true;
  }

  renew(): Promise<RenewOutcome> {
    return this.serial(async () => {
      if (!this.isLocallyValid()) return this.releasedFlag ? 'lost' : this.expireLocally();
      const sentAt = this.clock.monoMs();
      const next: LeaseValue = { ...this.value, renewedAt: new Date(this.clock.wallMs()).toISOString() };
      try {
        this.rev = await this.kv.update(
          this.streamId,
          JSON.stringify(next),
          this.rev,
          Math.min(this.t.requestTimeoutMs, this.t.heartbeatMs),
        );
        this.value = next;
        this.confirmedSentAt = sentAt;
        return 'renewed';
      } catch (err) {
        if (isCasConflict(err)) {
          this.lostFlag = true;
          return 'lost';
        }
        return this.isLocallyValid() ? 'unreachable' : this.expireLocally();
      }
    });
  }

  /**
   * True when the server shows our worker id at our last revision. When the server cannot be
   * asked, the local deadline decides: nobody can have taken the lease before it passes.
   */
  verify(): Promise<boolean> {
    return this.serial(async () => {
      if (!this.isLocallyValid()) {
        if (!this.releasedFlag) this.lostFlag = true;
        return false;
      }
      let entry: KvEntry | null;
      try {
        entry = await this.kv.get(this.streamId);
      } catch {
        return this.isLocallyValid();
      }
      const owned = !!entry && entry.operation === 'PUT' && entry.revision === this.rev && parseLease(entry)?.workerId === this.workerId;
      if (!owned) this.lostFlag = true;
      return owned;
    });
  }

  /**
   * Deletes the entry only if it is still ours (CAS on our revision). A failure is harmless:
   * the entry expires by TTL, which only delays a takeover.
   */
  release(): Promise<boolean> {
    return this.serial(async () => {
      if (this.lostFlag || this.releasedFlag) return false;
      this.releasedFlag = true;
      try {
        await this.kv.delete(this.streamId, { previousSeq: this.rev });
        return true;
      } catch {
        return false;
      }
    });
  }

  private expireLocally(): RenewOutcome {
    this.lostFlag = true;
    return 'lost';
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

export function parseLease(entry: KvEntry): LeaseValue | undefined {
  try {
    const v = entry.json<Partial<LeaseValue>>();
    return typeof v?.workerId === 'string' && typeof v.streamId === 'string' ? (v as LeaseValue) : undefined;
  } catch {
    return undefined;
  }
}

export function isCasConflict(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(v)));
}
