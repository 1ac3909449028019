import type { JsMsg } from '@nats-io/jetstream';
import type { DeadLetterEvent, ScreeningFailureEvent } from '../../domain/decision.js';
import { isRetryable, LeaseLostError } from '../../domain/errors.js';
import { screeningFailureEvent } from '../../domain/failure.js';
import type { Logger } from '../../domain/logger.js';
import type { StreamStart } from '../../domain/stream.js';
import { AssignmentAbortedError, type AbortCause } from './errors.js';
import type { HeldLease } from './lease.js';
import type { DesiredStream } from './provision.js';
import { redactUrl } from '../../domain/redact.js';
import type { ResolvedIngestOptions } from './options.js';

/**
 * One live stream this worker screens. The pipeline's onAssignment promise lives as long as the
 * screening; settle it (or call complete()/fail()) to finish.
 */
export interface ScreeningAssignment {
  readonly start: StreamStart;
  /**
   * Unique per lease acquisition (a takeover gets a new one). Put it into event ids
   * (domain/event-id.ts) so a new owner's decisions never dedupe against the old owner's.
   */
  readonly runId: string;
  readonly workerId: string;
  /** JetStream delivery count of the start message (includes naks while another worker held it). */
  readonly deliveryCount: number;
  /**
   * Aborts when this worker must stop screening the stream. `signal.reason` is a LeaseLostError
   * (publish nothing more for it), or an AssignmentAbortedError with reason `ended`,
   * `shutdown` (another worker takes over), `superseded` (a re-announced start replaced it) or
   * `completed`. Pass it to the publisher so retries stop too.
   */
  readonly signal: AbortSignal;
  /**
   * Pass THIS to publish calls (kill-switch, escalation, failure). It aborts when the lease is
   * lost, or when ingest hands the stream on (ack/release after end, shutdown, completion) once
   * the abort grace period is over, but not the moment `signal` aborts: a kill-switch already
   * being retried when the stream ends or the worker starts shutting down is still delivered.
   */
  readonly publishSignal: AbortSignal;
  /** Call before every publish. Throws LeaseLostError (and aborts the signal) when not the owner. */
  assertOwned(): Promise<void>;
  /** The stream finished normally: ack the start and release the lease. Same as resolving onAssignment. */
  complete(): Promise<void>;
  /**
   * Screening failed terminally and the caller has already published a ScreeningFailureEvent:
   * ack and release without escalating again. (Rejecting onAssignment instead makes ingest
   * publish the failure itself.)
   */
  fail(err?: unknown): Promise<void>;
}

/**
 * What ingest needs from the publish stage: a structural subset of publish/'s DecisionPublisher
 * (createDecisionPublisher() satisfies it), handed in by the composition root.
 */
export interface IngestPublisher {
  publishFailure(event: ScreeningFailureEvent, opts?: { signal?: AbortSignal }): Promise<unknown>;
  publishDeadLetter(event: DeadLetterEvent, opts?: { signal?: AbortSignal }): Promise<unknown>;
  /** Idempotent create-or-update of a JetStream stream; provisions the inbound streams. */
  ensureStream(desired: DesiredStream): Promise<unknown>;
}

/** How a held stream ended, as reported to IngestEvents (a metric label). */
export type AssignmentOutcome =
  | 'completed'
  | 'failed'
  | 'crashed'
  | 'ended'
  | 'shutdown'
  | 'superseded'
  | 'lease_lost'
  | 'skipped_ended'
  | 'abandoned';

const OUTCOME: Record<Verdict['kind'], AssignmentOutcome> = {
  completed: 'completed',
  'failed-reported': 'failed',
  crashed: 'crashed',
  aborted: 'ended', // refined by cause below
  superseded: 'superseded',
  lease_lost: 'lease_lost',
  'skip-ended': 'skipped_ended',
  abandon: 'abandoned',
};

type Verdict =
  | { kind: 'completed' }
  | { kind: 'failed-reported'; err: unknown }
  | { kind: 'crashed'; err: unknown }
  | { kind: 'aborted'; cause: 'ended' | 'shutdown' }
  | { kind: 'superseded'; successor: JsMsg }
  | { kind: 'lease_lost'; why: string }
  /** Admission outcomes, before onAssignment ran. */
  | { kind: 'skip-ended' }
  | { kind: 'abandon'; err: unknown };

export interface ActiveStreamDeps {
  readonly msg: JsMsg;
  readonly start: StreamStart;
  readonly lease: HeldLease;
  readonly options: ResolvedIngestOptions;
  readonly logger: Logger;
  readonly workerId: string;
  readonly publisher: IngestPublisher;
  /** Aborted in the last shutdown stage: stops escalation retries. */
  readonly hardStop: AbortSignal;
  readonly onDone: (s: ActiveStream, outcome: AssignmentOutcome) => void;
}

/**
 * The start message held un-acked (working() every heartbeat) plus the lease (renewed every
 * heartbeat). Every exit path decides explicitly what happens to both:
 *   completed / failed / ended  -> ack (if still owner) + release
 *   crashed                     -> escalate, then ack (terminal) or nak(retryDelay) (retryable) + release
 *   shutdown                    -> release, then nak(0) so another worker takes over at once
 *   lease lost                  -> neither ack nor nak: the message may now be another worker's
 *                                  (on 2.9 an ack by stream sequence would delete theirs)
 */
export class ActiveStream {
  readonly streamId: string;
  /** Server time the held start was published; ends at or before it belong to an earlier life of the id. */
  startNanos: bigint;
  readonly runId: string;
  start: StreamStart;
  msg: JsMsg;
  /** A later end seen while admission was still checking. */
  endSeenNanos: bigint | undefined;
  private state: 'admitting' | 'running' | 'finishing' | 'done' = 'admitting';
  private readonly controller = new AbortController();
  private readonly leaseLost = new AbortController();
  private readonly publishing = new AbortController();
  private readonly lease: HeldLease;
  private readonly o: ResolvedIngestOptions;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;
  private successor: JsMsg | undefined;
  private runSettled: Promise<void> | undefined;
  private finishing: Promise<void> | undefined;

  constructor(private readonly deps: ActiveStreamDeps) {
    this.msg = deps.msg;
    this.start = deps.start;
    this.streamId = deps.start.streamId;
    this.startNanos = deps.msg.timestampNanos;
    this.lease = deps.lease;
    this.o = deps.options;
    this.runId = `${deps.lease.revision}.${deps.msg.seq}`;
    this.log = deps.logger.child({ streamId: this.streamId, runId: this.runId });
    this.timer = setInterval(() => this.tick(), this.o.heartbeatMs);
  }

  get isRunning(): boolean {
    return this.state === 'running';
  }

  run(onAssignment: (a: ScreeningAssignment) => Promise<void>): void {
    // A shutdown during admission already handed the start back.
    if (this.state !== 'admitting') return;
    this.state = 'running';
    const assignment = this.assignment();
    this.runSettled = (async () => {
      let outcome: { ok: true } | { ok: false; err: unknown };
      try {
        await onAssignment(assignment);
        outcome = { ok: true };
      } catch (err) {
        outcome = { ok: false, err };
      }
      if (this.finishing) {
        if (!outcome.ok && !this.controller.signal.aborted) this.log.warn({ err: outcome.err }, 'onAssignment rejected after the assignment finished');
        return;
      }
      // Resolving means the screening ended normally; rejecting is a crash to escalate.
      void this.finish(outcome.ok ? { kind: 'completed' } : { kind: 'crashed', err: outcome.err });
    })();
  }

  /** Another delivery for this stream id reached this worker while it holds the stream. */
  offer(m: JsMsg, start: StreamStart): void {
    if (this.state !== 'running') {
      // Our own message redelivered while we finish: the finishing path acks or naks it by sequence.
      if (m.seq !== this.msg.seq) m.nak(1000);
      return;
    }
    if (m.seq === this.msg.seq) {
      // Our working() did not reach the server in time (stall, reconnect); keep the newer delivery.
      this.msg = m;
      return;
    }
    // A re-announce: max_msgs_per_subject 1 has already removed our old message from the stream.
    if (start.url === this.start.url && start.startedAt === this.start.startedAt) {
      this.log.info({ seq: m.seq }, 're-announced with the same source; continuing on the new message');
      this.msg = m;
      this.start = start;
      this.startNanos = m.timestampNanos;
      return;
    }
    this.log.info({ seq: m.seq, url: redactUrl(start.url) }, 're-announced with a different source; restarting its screening');
    void this.finish({ kind: 'superseded', successor: m });
  }

  /** An end event for this stream id. Ends older than our start belong to an earlier life of the id. */
  end(endedAtNanos: bigint): void {
    if (endedAtNanos <= this.startNanos) return;
    if (this.state === 'admitting') {
      this.endSeenNanos = endedAtNanos;
      return;
    }
    void this.finish({ kind: 'aborted', cause: 'ended' });
  }

  shutdown(): Promise<void> {
    return this.finish({ kind: 'aborted', cause: 'shutdown' });
  }

  /** Admission found a later end: ack and release without screening. */
  skipEnded(): Promise<void> {
    return this.finish({ kind: 'skip-ended' });
  }

  /** Admission could not finish (e.g. the ends lookup failed): give everything back. */
  abandon(err: unknown): Promise<void> {
    return this.finish({ kind: 'abandon', err });
  }

  private assignment(): ScreeningAssignment {
    return {
      start: this.start,
      runId: this.runId,
      workerId: this.deps.workerId,
      deliveryCount: this.msg.info.deliveryCount,
      signal: this.controller.signal,
      publishSignal: this.publishing.signal,
      assertOwned: async () => {
        if (this.leaseLost.signal.aborted) throw this.leaseLost.signal.reason;
        if (this.state === 'finishing' || this.state === 'done') {
          // Released (or being released) by us: not ours to publish for any more.
          if (!(await this.lease.verify())) throw new LeaseLostError(this.streamId, `stream ${this.streamId} is no longer assigned to this worker`);
          return;
        }
        if (!(await this.lease.verify())) {
          this.onLeaseLost('ownership check found another holder or no lease');
          throw this.leaseLost.signal.reason;
        }
      },
      complete: () => this.finish({ kind: 'completed' }),
      fail: (err?: unknown) => this.finish({ kind: 'failed-reported', err }),
    };
  }

  private tick(): void {
    if (this.state === 'done' || this.leaseLost.signal.aborted || this.lease.released) return;
    if (this.lease.lost || !this.lease.isLocallyValid()) {
      this.onLeaseLost(this.lease.lost ? 'lease renewal refused' : `no successful renewal for ${this.o.leaseTtlMs - 2 * this.o.heartbeatMs} ms`);
      return;
    }
    this.msg.working();
    this.successor?.working();
    if (this.renewing) return;
    this.renewing = true;
    this.lease
      .renew()
      .then((r) => {
        if (r === 'lost') this.onLeaseLost('lease was taken over, deleted or expired');
        else if (r === 'unreachable') this.log.warn('lease renewal failed; retrying on the next heartbeat');
      })
      .catch((err: unknown) => this.log.error({ err }, 'lease renewal crashed'))
      .finally(() => {
        this.renewing = false;
      });
  }

  private onLeaseLost(why: string): void {
    if (this.leaseLost.signal.aborted) return;
    this.lease.markLost();
    const err = new LeaseLostError(this.streamId, `lease for stream ${this.streamId} lost: ${why}`);
    this.leaseLost.abort(err);
    if (!this.publishing.signal.aborted) this.publishing.abort(err);
    this.stopTimer();
    if (!this.controller.signal.aborted) this.controller.abort(err);
    this.log.warn({ why }, 'lease lost: stopped screening and publishing for this stream');
    void this.finish({ kind: 'lease_lost', why });
  }

  private finish(v: Verdict): Promise<void> {
    if (this.finishing) return this.finishing;
    this.state = 'finishing';
    this.finishing = this.settle(v)
      .catch((err: unknown) => this.log.error({ err, verdict: v.kind }, 'finishing the assignment failed'))
      .finally(() => {
        this.stopTimer();
        this.stopPublishing('completed');
        this.state = 'done';
        this.deps.onDone(this, v.kind === 'aborted' ? v.cause : OUTCOME[v.kind]);
      });
    return this.finishing;
  }

  private async settle(v: Verdict): Promise<void> {
    switch (v.kind) {
      case 'lease_lost':
        await this.waitForRun();
        return;
      case 'aborted':
        this.abort(v.cause);
        await this.waitForRun();
        if (v.cause === 'ended') {
          this.log.info('stream ended: screening stopped');
          await this.ackAndRelease('ended');
        } else {
          await this.releaseAndNak(0);
        }
        return;
      case 'superseded':
        this.successor = v.successor;
        this.abort('superseded');
        await this.waitForRun();
        // The old start is gone from the stream; hand the new one back for a fresh admission.
        this.stopPublishing('superseded');
        if (await this.lease.verify()) await this.lease.release();
        v.successor.nak();
        return;
      case 'completed':
      case 'failed-reported':
        // Called from inside onAssignment: waiting for it to settle would deadlock.
        this.abort('completed');
        await this.ackAndRelease();
        return;
      case 'skip-ended':
        this.log.info('start is older than the stream\'s last end: not screening');
        await this.ackAndRelease('ended');
        return;
      case 'abandon':
        this.log.warn({ err: v.err }, 'admission failed; the start will be retried');
        await this.releaseAndNak(this.o.retryDelayMs);
        return;
      case 'crashed':
        await this.escalate(v.err);
        return;
    }
  }

  /** The screening threw: make it visible (failure event), then retry it or give it up. */
  private async escalate(err: unknown): Promise<void> {
    const retryable = isRetryable(err);
    this.log.error({ err, retryable }, 'screening failed');
    const event = screeningFailureEvent({ start: this.start, runId: this.runId, workerId: this.deps.workerId, error: err });
    try {
      await this.deps.publisher.publishFailure(event, { signal: AbortSignal.any([this.leaseLost.signal, this.deps.hardStop]) });
    } catch (perr) {
      if (this.leaseLost.signal.aborted) return; // the new owner screens it; nothing more from us
      // Shutting down: another worker takes it at once. Otherwise the failure event was refused
      // for good (PublishError, not retryable): come back after a delay rather than spin.
      const delayMs = this.deps.hardStop.aborted ? 0 : this.o.retryDelayMs;
      this.log.error({ err: perr, retryInMs: delayMs }, 'could not publish the screening failure; handing the stream back');
      await this.releaseAndNak(delayMs);
      return;
    }
    this.abort('completed');
    if (retryable) await this.releaseAndNak(this.o.retryDelayMs);
    else await this.ackAndRelease();
  }

  private abort(cause: AbortCause): void {
    if (!this.controller.signal.aborted) this.controller.abort(new AssignmentAbortedError(this.streamId, cause));
  }

  /** From here on another worker may own the stream: nothing more may be published for it. */
  private stopPublishing(cause: AbortCause): void {
    if (!this.publishing.signal.aborted) this.publishing.abort(new AssignmentAbortedError(this.streamId, cause));
  }

  private async waitForRun(): Promise<void> {
    if (!this.runSettled) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.runSettled.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), this.o.abortGraceMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) this.log.warn({ graceMs: this.o.abortGraceMs }, 'onAssignment ignored the abort signal; finishing anyway');
  }

  /** Ack only as the verified owner: on 2.9 a stale ack deletes the message a new owner holds. */
  private async ackAndRelease(cause: AbortCause = 'completed'): Promise<void> {
    this.stopPublishing(cause);
    if (!(await this.lease.verify())) {
      this.log.warn('not acking the start: this worker no longer holds the lease');
      return;
    }
    try {
      await this.msg.ackAck({ timeout: this.o.requestTimeoutMs });
    } catch (err) {
      // A lost ack means a redelivery; admission then finds the end (or screens again).
      this.log.warn({ err }, 'ack of the start message was not confirmed');
    }
    await this.lease.release();
  }

  /** Release first, so the redelivered start finds no lease and is taken at once. */
  private async releaseAndNak(delayMs: number): Promise<void> {
    this.stopPublishing('shutdown');
    if (!(await this.lease.verify())) {
      this.log.warn('not handing back the start: this worker no longer holds the lease');
      return;
    }
    await this.lease.release();
    this.msg.nak(delayMs);
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
