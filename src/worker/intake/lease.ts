import { randomBytes } from 'node:crypto';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import { monotonicMs } from './time.js';

/** What a lease entry holds; times are the writer's clock and only informational. */
export interface LeaseValue {
  readonly workerId: string;
  readonly streamId: string;
  /**
   * Random per acquisition: ownership is "this entry carries my leaseId", not "this entry is at
   * the revision I last wrote". A renewal whose answer was lost (a reconnect) moves the revision
   * without our knowing; the leaseId still says the entry is ours.
   */
  readonly leaseId?: string;
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
    const value: LeaseValue = { workerId: this.workerId, streamId, leaseId: newLeaseId(), acquiredAt: now, renewedAt: now };
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
    return new HeldLease(this.kv, streamId, value, revision, sentAt, this.t, this.clock);
  }
}

/**
 * Something about our own lease entry that a healthy bucket would not show (counted, alerted,
 * shown by readiness, and repaired where the entry allows it):
 * - `revision_mismatch`: a renewal was refused although the entry still carries our leaseId and
 *   no write of ours was left unanswered (the revision moved without us: a restore, a replayed
 *   write, a bucket out of step with itself). Repaired by adopting the entry's revision.
 * - `vanished`: our entry is gone before the server could have expired it (deleted or purged by
 *   someone, or lost by the store). Repaired by creating it again.
 * - `inconsistent`: the bucket refuses our create although a read finds no entry. Not repairable
 *   from here; the stream goes on being screened and the next heartbeat tries again.
 */
export type LeaseAnomaly = 'revision_mismatch' | 'vanished' | 'inconsistent';

export type RenewResult =
  /** The server holds our renewal (possibly after a repair, which `repaired` names). */
  | { readonly outcome: 'renewed'; readonly repaired?: 'adopted' | 'recreated'; readonly anomaly?: LeaseAnomaly }
  /** Evidence that another worker holds the stream now: stop screening it. */
  | { readonly outcome: 'lost'; readonly holder: string }
  /**
   * No answer, or no answer we can act on (NATS down, a timeout, no quorum, an inconsistent
   * bucket). NOT a reason to stop screening: nobody can be shown to hold the stream instead.
   */
  | { readonly outcome: 'unreachable'; readonly error?: unknown; readonly anomaly?: LeaseAnomaly };

/** What a read of the entry says about ownership. */
export type Ownership = 'owned' | 'lost' | 'unknown';

/**
 * A lease this worker holds.
 *
 * The rule for a partitioned or absent NATS: a holder stops screening a stream only on evidence
 * that another worker holds it (a refused renewal followed by a read that shows another holder),
 * never because it cannot reach NATS. While NATS is down for everyone, nobody else can take the
 * stream over (the leases live in the same NATS), so giving it up would only leave it unscreened.
 * While NATS is up for others but not for us, our entry expires after the TTL and another worker
 * takes the stream: both screen it until we reach NATS again, see the new holder at our next
 * renewal and stop. Decisions made in that overlap are all kept (they carry different run ids);
 * consumers act on a stream's kill-switch idempotently.
 *
 * Renewals and ownership reads are independent requests (no shared queue): a read stuck on a
 * dropped connection cannot hold a renewal back.
 */
export class HeldLease {
  private lostFlag = false;
  private releasedFlag = false;
  /** A write whose answer never came: it may have landed and moved the revision. */
  private unanswered = false;
  private inFlight: Promise<RenewResult> | undefined;

  constructor(
    private readonly kv: KV,
    readonly streamId: string,
    private value: LeaseValue,
    private rev: number,
    /** Monotonic time the last successful write was *sent*: the server stamped it later. */
    private confirmedSentAt: number,
    private readonly t: LeaseTimings,
    private readonly clock: LeaseClock,
  ) {}

  get workerId(): string {
    return this.value.workerId;
  }

  get revision(): number {
    return this.rev;
  }

  get lost(): boolean {
    return this.lostFlag;
  }

  get released(): boolean {
    return this.releasedFlag;
  }

  /** Milliseconds since the last renewal the server confirmed was sent. */
  get unconfirmedForMs(): number {
    return this.clock.monoMs() - this.confirmedSentAt;
  }

  markLost(): void {
    this.lostFlag = true;
  }

  /** One renewal at a time: a call while one is in flight shares it. */
  renew(): Promise<RenewResult> {
    this.inFlight ??= this.doRenew().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * Reads the entry: `owned` when it carries our leaseId, `lost` when it names another holder,
   * `unknown` when it cannot be read or is absent (nobody holds it; renew() recreates it).
   */
  async verify(): Promise<Ownership> {
    if (this.lostFlag || this.releasedFlag) return 'lost';
    let entry: KvEntry | null;
    try {
      entry = await this.kv.get(this.streamId);
    } catch {
      return 'unknown';
    }
    if (!entry || entry.operation !== 'PUT') return 'unknown';
    if (this.isOurs(parseLease(entry))) return 'owned';
    this.lostFlag = true;
    return 'lost';
  }

  /**
   * Deletes the entry only if it is still ours (CAS on our revision). A failure is harmless:
   * the entry expires by TTL, which only delays a takeover.
   */
  async release(): Promise<boolean> {
    if (this.lostFlag || this.releasedFlag) return false;
    this.releasedFlag = true;
    try {
      await this.kv.delete(this.streamId, { previousSeq: this.rev });
      return true;
    } catch {
      return false;
    }
  }

  private async doRenew(): Promise<RenewResult> {
    if (this.releasedFlag || this.lostFlag) return { outcome: 'lost', holder: 'unknown' };
    const sentAt = this.clock.monoMs();
    const next: LeaseValue = { ...this.value, renewedAt: new Date(this.clock.wallMs()).toISOString() };
    try {
      this.rev = await this.kv.update(this.streamId, JSON.stringify(next), this.rev, this.writeTimeoutMs());
      this.value = next;
      this.confirmedSentAt = sentAt;
      this.unanswered = false;
      return { outcome: 'renewed' };
    } catch (err) {
      if (!isCasConflict(err)) {
        // A timeout may mean it landed; the next refusal is then no anomaly.
        this.unanswered = true;
        return { outcome: 'unreachable', error: err };
      }
      return this.reconcile();
    }
  }

  /** A renewal was refused: read the entry and act on what it shows. */
  private async reconcile(): Promise<RenewResult> {
    let entry: KvEntry | null;
    try {
      entry = await this.kv.get(this.streamId);
    } catch (err) {
      return { outcome: 'unreachable', error: err };
    }
    if (entry && entry.operation === 'PUT') {
      const v = parseLease(entry);
      if (!this.isOurs(v)) {
        this.lostFlag = true;
        return { outcome: 'lost', holder: v?.workerId ?? 'unreadable' };
      }
      const anomaly = this.unanswered ? undefined : ('revision_mismatch' as const);
      this.rev = entry.revision;
      this.unanswered = false;
      // Renew from the adopted revision at once, so the entry's age restarts now.
      const again = await this.doRenew();
      return again.outcome === 'renewed' ? { outcome: 'renewed', repaired: 'adopted', ...(anomaly ? { anomaly } : {}) } : again;
    }
    // No entry. Expected once the server could have expired it (we were cut off for a TTL);
    // before that, someone or something removed it.
    const expired = this.clock.monoMs() - this.confirmedSentAt >= this.t.leaseTtlMs;
    const sentAt = this.clock.monoMs();
    const next: LeaseValue = { ...this.value, renewedAt: new Date(this.clock.wallMs()).toISOString() };
    try {
      this.rev = await this.kv.create(this.streamId, JSON.stringify(next));
      this.value = next;
      this.confirmedSentAt = sentAt;
      this.unanswered = false;
      return { outcome: 'renewed', repaired: 'recreated', ...(expired ? {} : { anomaly: 'vanished' as const }) };
    } catch (err) {
      if (!isCasConflict(err)) return { outcome: 'unreachable', error: err };
    }
    // Someone created it between our read and our create, or the bucket contradicts itself.
    const again = await this.kv.get(this.streamId).catch(() => null);
    if (again && again.operation === 'PUT') {
      const v = parseLease(again);
      if (!this.isOurs(v)) {
        this.lostFlag = true;
        return { outcome: 'lost', holder: v?.workerId ?? 'unreadable' };
      }
      this.rev = again.revision;
      return { outcome: 'renewed', repaired: 'adopted' };
    }
    return { outcome: 'unreachable', anomaly: 'inconsistent' };
  }

  private isOurs(v: LeaseValue | undefined): boolean {
    return v !== undefined && v.workerId === this.value.workerId && v.leaseId === this.value.leaseId;
  }

  /** A renewal must be answered within a heartbeat, or the next one would queue behind it. */
  private writeTimeoutMs(): number {
    return Math.min(this.t.requestTimeoutMs, this.t.heartbeatMs);
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

function newLeaseId(): string {
  return randomBytes(6).toString('hex');
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(v)));
}
