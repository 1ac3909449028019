import type { JsMsg } from '@nats-io/jetstream';
import type { AssignmentOutcome, WorkerEvents } from '../events.js';
import type { Emitter } from '../../domain/hooks.js';
import { sleep } from '../../domain/retry.js';
import type { DeadLetterEvent, ScreeningFailureEvent } from '../../contracts/index.js';
import { isRetryable, LeaseLostError } from '../../domain/errors.js';
import { screeningFailureEvent } from '../../domain/failure.js';
import type { Logger } from '../../domain/logger.js';
import type { StreamStart } from '../../domain/stream.js';
import { AssignmentAbortedError, type AbortCause } from './errors.js';
import type { HeldLease, LeaseAnomaly, RenewResult } from './lease.js';
import { monotonicMs } from './time.js';
import { redactUrl } from '../../domain/redact.js';
import type { ScreeningOutcome } from '../../domain/screening-outcome.js';
import { disposeStart } from './dispose.js';
import type { IngestOptions } from '../../config/index.js';
import {
  nextStep,
  settle,
  settleUnreported,
  SOURCE_OK,
  type Disposal,
  type Finish,
  type ProbeState,
  type Settlement,
} from './settlement.js';

/**
 * One live stream this worker screens. The pipeline's onAssignment promise lives as long as the
 * screening, and what it resolves to (a ScreeningOutcome) says how it ended.
 */
export interface ScreeningAssignment {
  readonly start: StreamStart;
  /**
   * Unique per lease acquisition (a takeover gets a new one) and per screening of it (a source
   * probed again after it went away gets `<run>.<n>`, because frame numbers start again). Put it
   * into event ids (domain/event-id.ts) so no decision ever dedupes against an earlier one.
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
  /**
   * Throws LeaseLostError once this worker knows another one holds the stream (from its last
   * renewal; no round trip, so it answers at once while NATS is away). Decisions already made
   * are recorded whatever it says: a kill-switch is never dropped because ownership changed.
   */
  assertOwned(): Promise<void>;
}

/**
 * What ingest needs from the publish stage: a structural subset of publish/'s DecisionPublisher
 * (createDecisionPublisher() satisfies it), handed in by the composition root.
 */
export interface IngestPublisher {
  publishFailure(event: ScreeningFailureEvent, opts?: { signal?: AbortSignal }): Promise<unknown>;
  publishDeadLetter(event: DeadLetterEvent, opts?: { signal?: AbortSignal }): Promise<unknown>;
}

/** A terminal failure is `failed` (given up, reported); a retryable one `crashed` (handed back for another try). */
function outcomeLabel(f: Finish): AssignmentOutcome {
  if (f.kind === 'crashed') return isRetryable(f.error) ? 'crashed' : 'failed';
  return OUTCOME[f.kind];
}

const OUTCOME: Record<Exclude<Finish['kind'], 'crashed'>, AssignmentOutcome> = {
  completed: 'completed',
  ended: 'ended',
  shutdown: 'shutdown',
  superseded: 'superseded',
  lease_lost: 'lease_lost',
  gave_up: 'gave_up',
};

export interface HeldStreamDeps {
  readonly msg: JsMsg;
  readonly start: StreamStart;
  readonly lease: HeldLease;
  readonly options: IngestOptions;
  readonly logger: Logger;
  readonly workerId: string;
  readonly publisher: IngestPublisher;
  /** Aborted in the last shutdown stage: stops escalation retries. */
  readonly hardStop: AbortSignal;
  readonly events: Emitter<WorkerEvents>;
  /** Something in our own lease entry a healthy bucket would not show (lease.ts, LeaseAnomaly). */
  readonly onAnomaly: (streamId: string, anomaly: LeaseAnomaly) => void;
  readonly onDone: (s: HeldStream, outcome: AssignmentOutcome) => void;
}

/**
 * An admitted stream: the start message held un-acked (working() every heartbeat) plus the lease
 * (renewed every heartbeat), from the moment onAssignment starts. How it finishes (the screening's
 * outcome, an end, a shutdown, a re-announce, a lost lease) is settled by settlement.ts's table.
 */
export class HeldStream {
  readonly streamId: string;
  readonly runId: string;
  /** Replaced only by a re-announce with the same source or our own redelivery (see offer()). */
  private current: { readonly msg: JsMsg; readonly start: StreamStart };
  private state: 'running' | 'finishing' | 'done' = 'running';
  private readonly controller = new AbortController();
  private readonly leaseLost = new AbortController();
  private readonly publishing = new AbortController();
  private readonly lease: HeldLease;
  private readonly o: IngestOptions;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;
  /** Monotonic ms of the first renewal that went unanswered in a row. */
  private unreachableSince: number | undefined;
  private successor: JsMsg | undefined;
  private runSettled: Promise<void> | undefined;
  private finishing: Promise<void> | undefined;

  constructor(private readonly deps: HeldStreamDeps) {
    this.current = { msg: deps.msg, start: deps.start };
    this.streamId = deps.start.streamId;
    this.lease = deps.lease;
    this.o = deps.options;
    this.runId = runIdFor(deps.lease, deps.msg);
    this.log = deps.logger.child({ streamId: this.streamId, runId: this.runId });
    this.timer = setInterval(() => this.tick(), this.o.heartbeatMs);
  }

  /** Server time the held start was published; ends at or before it belong to an earlier life of the id. */
  get startNanos(): bigint {
    return this.current.msg.timestampNanos;
  }

  get isRunning(): boolean {
    return this.state === 'running';
  }

  run(onAssignment: (a: ScreeningAssignment) => Promise<ScreeningOutcome>): void {
    this.runSettled = (async () => {
      let probe: ProbeState = SOURCE_OK;
      for (let attempt = 1; ; attempt++) {
        const startedAt = monotonicMs();
        let outcome: ScreeningOutcome;
        try {
          outcome = await onAssignment(this.assignment(attempt));
        } catch (err) {
          // A rejection is a failure nobody reported yet.
          outcome = { kind: 'failed', error: err };
        }
        if (this.finishing) {
          if (outcome.kind === 'failed' && !this.controller.signal.aborted) {
            this.log.warn({ err: outcome.error }, 'onAssignment rejected after the assignment finished');
          }
          return;
        }
        const step = nextStep(outcome, probe, this.o, { now: monotonicMs(), ranMs: monotonicMs() - startedAt });
        if (step.kind === 'finish') {
          if (step.finish.kind === 'gave_up') {
            this.log.warn({ failures: probe.failures }, 'source still gone at the give-up horizon: stream released');
            this.deps.events.emit('intake.sourceProbe', { streamId: this.streamId, event: 'gave_up', failures: probe.failures });
          }
          void this.finish(step.finish);
          return;
        }
        probe = step.state;
        if (step.report && outcome.kind === 'failed') await this.report(outcome.error);
        this.log.warn({ failures: probe.failures, retryInMs: step.delayMs }, 'source gone: the stream stays assigned and is probed again');
        this.deps.events.emit('intake.sourceProbe', {
          streamId: this.streamId,
          event: 'waiting',
          failures: probe.failures,
          delayMs: step.delayMs,
        });
        // An end, a shutdown or a lost lease aborts the wait; their finish settles the stream.
        if (
          !(await sleep(step.delayMs, this.controller.signal).then(
            () => true,
            () => false,
          ))
        )
          return;
      }
    })();
  }

  /**
   * NATS is back: renew at once (and so learn whether the lease is still ours) rather than at
   * the next heartbeat, and tell the server we still work on the start.
   */
  recheck(): void {
    this.tick();
  }

  /** Another delivery for this stream id reached this worker while it holds the stream. */
  offer(m: JsMsg, start: StreamStart): void {
    const { msg } = this.current;
    if (this.state !== 'running') {
      // Our own message redelivered while we finish: the finishing path acks or naks it by sequence.
      if (m.seq !== msg.seq) m.nak(1000);
      return;
    }
    if (m.seq === msg.seq) {
      // Our working() did not reach the server in time (stall, reconnect); keep the newer delivery.
      this.current = { msg: m, start: this.current.start };
      return;
    }
    // A re-announce: max_msgs_per_subject 1 has already removed our old message from the stream.
    if (start.url === this.current.start.url && start.startedAt === this.current.start.startedAt) {
      this.log.info({ seq: m.seq }, 're-announced with the same source; continuing on the new message');
      this.current = { msg: m, start };
      return;
    }
    this.log.info({ seq: m.seq, url: redactUrl(start.url) }, 're-announced with a different source; restarting its screening');
    this.successor = m;
    void this.finish({ kind: 'superseded' });
  }

  /** An end event for this stream id. Ends older than our start belong to an earlier life of the id. */
  end(endedAtNanos: bigint): void {
    if (endedAtNanos <= this.startNanos) return;
    void this.finish({ kind: 'ended' });
  }

  shutdown(): Promise<void> {
    return this.finish({ kind: 'shutdown' });
  }

  private assignment(attempt: number): ScreeningAssignment {
    const { start, msg } = this.current;
    return {
      start,
      runId: attempt === 1 ? this.runId : `${this.runId}.${attempt}`,
      workerId: this.deps.workerId,
      deliveryCount: msg.info.deliveryCount,
      signal: this.controller.signal,
      publishSignal: this.publishing.signal,
      assertOwned: () => {
        if (this.leaseLost.signal.aborted) return Promise.reject(this.leaseLost.signal.reason as Error);
        if (this.lease.lost || this.lease.released) {
          return Promise.reject(new LeaseLostError(this.streamId, `stream ${this.streamId} is no longer assigned to this worker`));
        }
        return Promise.resolve();
      },
    };
  }

  private tick(): void {
    if (this.state === 'done' || this.leaseLost.signal.aborted || this.lease.released) return;
    // Buffered by the client while disconnected; harmless if it never arrives.
    this.current.msg.working();
    this.successor?.working();
    if (this.renewing) return;
    this.renewing = true;
    this.lease
      .renew()
      .then((r) => this.renewed(r))
      .catch((err: unknown) => this.log.error({ err }, 'lease renewal crashed'))
      .finally(() => {
        this.renewing = false;
      });
  }

  /** Acts on evidence only: screening stops when another holder is seen, never because NATS is away. */
  private renewed(r: RenewResult): void {
    if (r.outcome !== 'lost' && r.anomaly) {
      this.log.warn({ anomaly: r.anomaly, repaired: r.outcome === 'renewed' ? r.repaired : undefined }, 'lease entry out of step');
      this.deps.onAnomaly(this.streamId, r.anomaly);
    }
    if (r.outcome === 'lost') {
      this.onLeaseLost(`another worker holds it now (${r.holder})`);
      return;
    }
    if (r.outcome === 'unreachable') {
      if (this.unreachableSince === undefined) {
        this.unreachableSince = monotonicMs();
        this.log.warn(
          { err: r.error },
          'lease cannot be renewed: still screening (nobody can be shown to hold the stream instead); ownership is checked when NATS answers',
        );
      }
      return;
    }
    if (r.repaired === 'recreated') this.log.info({ revision: this.lease.revision }, 'lease entry was gone; created it again');
    if (this.unreachableSince !== undefined) {
      this.log.info({ afterMs: Math.round(monotonicMs() - this.unreachableSince) }, 'lease renewed again: still ours');
      this.unreachableSince = undefined;
    }
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
    void this.finish({ kind: 'lease_lost' });
  }

  private finish(f: Finish): Promise<void> {
    if (this.finishing) return this.finishing;
    this.state = 'finishing';
    this.finishing = this.carryOut(f, settle(f, { retryDelayMs: this.o.retryDelayMs }))
      .catch((err: unknown) => this.log.error({ err, finish: f.kind }, 'finishing the assignment failed'))
      .finally(() => {
        this.stopTimer();
        this.stopPublishing('completed');
        this.state = 'done';
        this.deps.onDone(this, outcomeLabel(f));
      });
    return this.finishing;
  }

  private async carryOut(f: Finish, s: Settlement): Promise<void> {
    if (f.kind === 'ended') this.log.info('stream ended: screening stopped');
    if (s.abort) this.abort(s.abort);
    if (s.waitForRun) await this.waitForRun();
    let disposal = s.disposal;
    if (s.report && !(await this.report(s.report.error))) {
      disposal = settleUnreported({
        retryDelayMs: this.o.retryDelayMs,
        leaseLost: this.leaseLost.signal.aborted,
        stopping: this.deps.hardStop.aborted,
      });
    } else if (s.report) {
      this.abort('completed');
    }
    // From here on another worker may own the stream: nothing more may be published for it.
    this.stopPublishing(disposalCause(disposal));
    await disposeStart(
      { msg: this.current.msg, lease: this.lease, log: this.log, requestTimeoutMs: this.o.requestTimeoutMs, successor: this.successor },
      disposal,
    );
  }

  /** The screening failed without a report: make it visible (failure event). False when it could not be published. */
  private async report(err: unknown): Promise<boolean> {
    this.log.error({ err, retryable: isRetryable(err) }, 'screening failed');
    const event = screeningFailureEvent({ start: this.current.start, runId: this.runId, workerId: this.deps.workerId, error: err });
    try {
      await this.deps.publisher.publishFailure(event, { signal: AbortSignal.any([this.leaseLost.signal, this.deps.hardStop]) });
      return true;
    } catch (perr) {
      if (!this.leaseLost.signal.aborted) this.log.error({ err: perr }, 'could not publish the screening failure; handing the stream back');
      return false;
    }
  }

  private abort(cause: AbortCause): void {
    if (!this.controller.signal.aborted) this.controller.abort(new AssignmentAbortedError(this.streamId, cause));
  }

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

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Unique per lease acquisition and start message. */
export function runIdFor(lease: HeldLease, msg: JsMsg): string {
  return `${lease.revision}.${msg.seq}`;
}

/** The cause publishSignal carries once the stream is handed on. */
function disposalCause(d: Disposal): AbortCause {
  if (d.kind === 'release_nak') return 'shutdown';
  if (d.kind === 'release_pass_on') return 'superseded';
  return d.kind === 'ack_release' ? d.cause : 'completed';
}
