import { randomBytes } from 'node:crypto';
import { silentHooks, type Emitter } from '../../domain/hooks.js';
import type { WorkerEvents } from '../events.js';
import { hostname } from 'node:os';
import {
  jetstream,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { millis } from '@nats-io/transport-node';
import { ConfigError } from '../../domain/errors.js';
import type { IngestOptions } from '../../config/index.js';
import type { Logger } from '../../domain/logger.js';
import type { ScreeningOutcome } from '../../domain/screening-outcome.js';
import type { StreamStart } from '../../domain/stream.js';
import { backoffDelay, sleep } from '../../domain/retry.js';
import type { AdmissionGate } from './capacity-gate.js';
import { admission } from './admission.js';
import { readStartsBacklog, type StartsBacklog } from './backlog.js';
import { disposeStart } from './dispose.js';
import { HeldStream, runIdFor, type IngestPublisher, type ScreeningAssignment } from './held-stream.js';
import { buildDeadLetter } from './dead-letter.js';
import { followEnds, lastEndFor, type EndsFollower } from './ends.js';
import { parseStartEvent, type DeadLetterReason } from './parse-events.js';
import { LeaseStore, type LeaseAnomaly } from './lease.js';
import { LeaseHealth, type LeaseIssue } from './lease-health.js';
import { openLeaseBucket, provisionIngest } from './provision.js';

export interface IngestDeps {
  /** The worker's connection; configure it to reconnect forever (maxReconnectAttempts: -1). */
  readonly nc: NatsConnection;
  readonly logger: Logger;
  /** Unique per process. Default: hostname-pid-random. */
  readonly workerId?: string;
  /** Resolved at load (config/): all workers of a deployment share them. */
  readonly options: IngestOptions;
  /** Dead letters, failure escalations and stream provisioning (createDecisionPublisher() satisfies it). */
  readonly publisher: IngestPublisher;
  /**
   * Screens one stream; the promise lives as long as the screening and resolves to how it ended.
   * Intake settles that (settlement.ts): ack, retry, or publish a ScreeningFailureEvent for a
   * failure not yet reported (a rejection counts as one). Must stop promptly when `assignment.signal` aborts.
   */
  readonly onAssignment: (assignment: ScreeningAssignment) => Promise<ScreeningOutcome>;
  /** Reports assignments, finishes and dead letters (`intake.*` of WorkerEvents). */
  readonly events?: Emitter<WorkerEvents>;
  /**
   * Asked before every pull whether one more stream fits (measured admission, capacity/). Without
   * it, intake pulls while it holds fewer than maxConcurrentStreams. Either way, a start not pulled
   * stays in the shared consumer for another worker.
   */
  readonly capacity?: AdmissionGate;
}

export interface StopOptions {
  /**
   * Stage 1 stops taking new streams and waits up to this long for held streams to finish on
   * their own; stage 2 then aborts them, releases their leases and naks their starts so other
   * workers take over at once. Default 0: live streams do not finish on their own, and every
   * second of waiting is a second the stream is screened by a worker that is going away.
   */
  readonly graceMs?: number;
}

export interface Ingest {
  /** Provisions (unless disabled), starts following ends and pulling starts. */
  start(): Promise<void>;
  /** Two-stage graceful stop (see StopOptions). Idempotent; a later call with graceMs 0 cuts stage 1 short. */
  stop(opts?: StopOptions): Promise<void>;
  readonly workerId: string;
  readonly options: IngestOptions;
  /** Stream ids this worker holds right now. */
  readonly activeStreams: readonly string[];
  /**
   * For readiness: ok once started and while both the ends follower and the starts pull loop
   * work; `reasons` says what is wrong otherwise (not started yet, stopping, the ends follower
   * down and being recreated, pulling starts failing). Cheap; call it per probe.
   */
  healthy(): IngestHealth;
  /** Starts waiting for any worker (two JetStream API reads; for metrics at scrape time). */
  startsBacklog(): Promise<StartsBacklog>;
  /**
   * Starts no worker has taken yet (the shared consumer's pending count): streams that are live
   * and not screened, because every worker is full or none is running. Undefined before start()
   * or when NATS does not answer.
   */
  waitingStarts(): Promise<number | undefined>;
}

export interface IngestHealth {
  readonly ok: boolean;
  readonly reasons: string[];
}

/** Invalid starts one worker holds while their dead letters are stored; past it, pulling waits. */
const MAX_PENDING_DEAD_LETTERS = 16;
/** Longest delay before an invalid start whose dead letter failed comes round again. */
const MAX_DEAD_LETTER_RETRY_MS = 60_000;
/**
 * How long a lease issue keeps readiness red after it was last seen: long enough for a probe
 * and an alert to notice it, short enough that a repaired one clears by itself.
 */
const LEASE_HEALTH_WINDOW_MS = 120_000;

export function defaultWorkerId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export function createIngest(deps: IngestDeps): Ingest {
  return new IngestImpl(deps);
}

class IngestImpl implements Ingest {
  readonly workerId: string;
  readonly options: IngestOptions;
  private readonly log: Logger;
  private readonly events: Emitter<WorkerEvents>;
  private readonly active = new Map<string, HeldStream>();
  /** Starts being admitted, with any later end seen meanwhile. */
  private readonly admitting = new Map<string, { endSeenNanos?: bigint }>();
  /** Aborted at stage 1: no new work, pending dead-letter publishes hand their message back. */
  private readonly intake = new AbortController();
  /** Aborted at stage 2: escalation retries stop. */
  private readonly hardStop = new AbortController();
  private js!: JetStreamClient;
  private jsm!: JetStreamManager;
  private leases!: LeaseStore;
  private ends: EndsFollower | undefined;
  private pulling: Promise<void> | undefined;
  private fetch: ConsumerMessages | undefined;
  private capacityWaiters: Array<() => void> = [];
  /** Dead letters being stored; the pull loop does not wait for them (only past a bound). */
  private readonly deadLettering = new Set<Promise<void>>();
  private stopping: Promise<void> | undefined;
  private cutGrace: (() => void) | undefined;
  private started = false;
  /** Why the last pull of starts failed; cleared by the next one that works. */
  private pullProblem: string | undefined;
  private readonly leaseHealth = new LeaseHealth(LEASE_HEALTH_WINDOW_MS);

  constructor(private readonly deps: IngestDeps) {
    this.options = deps.options;
    this.workerId = deps.workerId ?? defaultWorkerId();
    this.log = deps.logger.child({ component: 'ingest', workerId: this.workerId });
    this.events = deps.events ?? silentHooks<WorkerEvents>();
  }

  get activeStreams(): readonly string[] {
    return [...this.active.keys()];
  }

  async waitingStarts(): Promise<number | undefined> {
    if (!this.jsm) return undefined;
    try {
      return (await this.jsm.consumers.info(this.options.startsStream, this.options.consumerName)).num_pending;
    } catch {
      return undefined;
    }
  }

  healthy(): IngestHealth {
    const reasons: string[] = [];
    if (!this.started) reasons.push('ingest not started');
    else if (this.stopping) reasons.push('ingest stopping');
    else if (!this.ends || !this.pulling) reasons.push('ingest starting');
    else {
      if (!this.ends.healthy) reasons.push(`not receiving stream ends (${this.ends.problem ?? 'unknown'})`);
      if (this.pullProblem !== undefined) reasons.push(`not pulling stream starts (${this.pullProblem})`);
    }
    reasons.push(...this.leaseHealth.problems());
    return { ok: reasons.length === 0, reasons };
  }

  async startsBacklog(): Promise<StartsBacklog> {
    // Pulling begins only once the JetStream manager is open.
    if (!this.pulling) throw new Error('ingest not started');
    return readStartsBacklog(this.jsm, this.options);
  }

  async start(): Promise<void> {
    if (this.started) throw new Error('ingest already started');
    this.started = true;
    const o = this.options;
    this.js = jetstream(this.deps.nc, { timeout: o.requestTimeoutMs });
    this.jsm = await this.js.jetstreamManager();
    const kv = o.provision ? await provisionIngest(this.js, o, this.log) : await openLeaseBucket(this.js, o);
    await this.checkServerTimings(kv.status().then((s) => s.ttl));
    this.leases = new LeaseStore(kv, this.workerId, o);
    // Follow ends before taking any start, so no end can fall between the admission check and us.
    this.ends = await followEnds({
      js: this.js,
      jsm: this.jsm,
      options: o,
      logger: this.log,
      onEnd: (end) => {
        this.active.get(end.streamId)?.end(end.endedAtNanos);
        const watch = this.admitting.get(end.streamId);
        if (watch && (watch.endSeenNanos === undefined || end.endedAtNanos > watch.endSeenNanos)) watch.endSeenNanos = end.endedAtNanos;
      },
      onInvalid: (bad) => {
        // Every worker sees every end; the id (stream + sequence) makes their dead letters one.
        const event = buildDeadLetter({ stream: o.endsStream, ...bad }, bad.reason, bad.issues, this.workerId);
        this.log.warn({ subject: bad.subject, reason: bad.reason, issues: bad.issues }, 'invalid end event: dead-lettered, not acted on');
        this.events.emit('intake.deadLetter', { subject: bad.subject, reason: bad.reason, kind: 'end' });
        this.deps.publisher
          .publishDeadLetter(event, { signal: this.hardStop.signal })
          .catch((err: unknown) => this.log.error({ err, eventId: event.eventId }, 'could not dead-letter an invalid end event'));
      },
    });
    if (this.intake.signal.aborted) {
      // stop() was called while we were starting: do not begin pulling.
      await this.ends.stop();
      return;
    }
    this.pulling = this.pullLoop();
    void this.followConnection();
    this.log.info({ maxConcurrentStreams: o.maxConcurrentStreams, ackWaitMs: o.ackWaitMs, leaseTtlMs: o.leaseTtlMs }, 'ingest started');
  }

  stop(opts: StopOptions = {}): Promise<void> {
    if (this.stopping) {
      if ((opts.graceMs ?? 0) === 0) this.cutGrace?.();
      return this.stopping;
    }
    this.stopping = this.doStop(opts.graceMs ?? 0);
    return this.stopping;
  }

  private async doStop(graceMs: number): Promise<void> {
    this.log.info({ graceMs, active: this.activeStreams }, 'stopping: no new streams');
    this.intake.abort(new Error('ingest stopping'));
    await this.fetch?.close();
    this.wakeCapacityWaiters();
    await this.pulling;
    // Their publishes abort with intake and hand each message back (nak) for another worker.
    await Promise.all(this.deadLettering);
    if (graceMs > 0 && this.active.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.cutGrace = () => {
          clearTimeout(timer);
          resolve();
        };
        const check = (): void => {
          if (this.active.size === 0) this.cutGrace?.();
          else this.capacityWaiters.push(check);
        };
        check();
      });
    }
    this.hardStop.abort(new Error('ingest stopped'));
    if (this.active.size > 0) this.log.info({ active: this.activeStreams }, 'handing held streams over to other workers');
    await Promise.all([...this.active.values()].map((s) => s.shutdown()));
    await this.ends?.stop();
    this.log.info('ingest stopped');
  }

  /**
   * On every reconnect each held stream renews at once: that is where it learns whether its
   * lease survived the outage (still ours: go on; another holder: stop, its decisions still go
   * out from the outbox; gone: created again).
   */
  private async followConnection(): Promise<void> {
    try {
      for await (const s of this.deps.nc.status()) {
        if (this.hardStop.signal.aborted) return;
        if (s.type !== 'reconnect') continue;
        this.log.info({ held: this.activeStreams.length }, 'NATS reconnected: checking every held lease now');
        for (const held of this.active.values()) held.recheck();
      }
    } catch (err) {
      this.log.warn({ err }, 'stopped following the NATS connection status');
    }
  }

  private leaseIssue(streamId: string, issue: LeaseIssue): void {
    this.leaseHealth.record(streamId, issue);
    this.events.emit('intake.leaseAnomaly', { streamId, kind: issue });
  }

  private ownershipChanged(streamId: string): void {
    if (this.leaseHealth.ownershipChanged(streamId) === 'flapping') {
      this.log.error({ streamId }, 'two workers are taking turns on this stream: lease flapping');
      this.events.emit('intake.leaseAnomaly', { streamId, kind: 'flapping' });
    }
  }

  /** Whether one more stream fits: never past maxConcurrentStreams, and only while the capacity gate (if any) agrees. */
  private hasRoom(): boolean {
    if (this.active.size >= this.options.maxConcurrentStreams) return false;
    return this.deps.capacity?.admission(this.active.size).kind !== 'full';
  }

  /**
   * Pulls one start at a time, and only while there is room. At capacity it pulls nothing, so the
   * starts stay in the shared consumer for other workers, and looks again when a stream ends or
   * the capacity gate samples anew.
   */
  private async pullLoop(): Promise<void> {
    const o = this.options;
    let failures = 0;
    let consumer: Consumer | undefined;
    // One waiter for a freed slot however many samples pass meanwhile.
    let freed: Promise<void> | undefined;
    while (!this.intake.signal.aborted) {
      if (!this.hasRoom()) {
        freed ??= new Promise<void>((r) =>
          this.capacityWaiters.push(() => {
            freed = undefined;
            r();
          }),
        );
        await (this.deps.capacity ? Promise.race([freed, this.deps.capacity.changed()]) : freed);
        continue;
      }
      try {
        // Looked up once (an API round trip), again only after a failure.
        consumer ??= await this.js.consumers.get(o.startsStream, o.consumerName);
        if (this.intake.signal.aborted) break;
        this.fetch = await consumer.fetch({ max_messages: 1, expires: o.pullExpiresMs });
        for await (const m of this.fetch) {
          if (this.intake.signal.aborted) {
            m.nak();
            continue;
          }
          await this.admit(m);
        }
        failures = 0;
        this.pullProblem = undefined;
      } catch (err) {
        if (this.intake.signal.aborted) break;
        consumer = undefined;
        failures++;
        this.pullProblem = err instanceof Error ? err.message : String(err);
        const delay = backoffDelay(failures, 250, 5000);
        this.log.warn({ err, retryInMs: delay }, 'pulling starts failed; retrying');
        await sleep(delay, this.intake.signal).catch(() => undefined);
      } finally {
        this.fetch = undefined;
      }
    }
  }

  private async admit(m: JsMsg): Promise<void> {
    const o = this.options;
    const parsed = parseStartEvent(m.subject, m.data, o.startsSubjectPrefix, o.maxStartEventBytes);
    if (!parsed.ok) {
      // Stored in the background: a slow or unwritable dead-letter stream must not hold up
      // valid starts. Bounded, so a flood of bad input cannot pile up unacked in one worker.
      const storing = this.deadLetter(m, parsed.reason, parsed.issues).finally(() => this.deadLettering.delete(storing));
      this.deadLettering.add(storing);
      if (this.deadLettering.size >= MAX_PENDING_DEAD_LETTERS) await Promise.race(this.deadLettering);
      return;
    }
    const start = parsed.value;
    const existing = this.active.get(start.streamId);
    if (existing) {
      existing.offer(m, start);
      return;
    }
    // Watched before the lease and end lookups, so an end arriving meanwhile is not missed.
    const watch: { endSeenNanos?: bigint } = {};
    this.admitting.set(start.streamId, watch);
    try {
      await this.decideAdmission(m, start, watch);
    } finally {
      this.admitting.delete(start.streamId);
    }
  }

  /** The NATS reads around admission(): the lease, then (only when we got it) the stream's last end. */
  private async decideAdmission(m: JsMsg, start: StreamStart, watch: { endSeenNanos?: bigint }): Promise<void> {
    const o = this.options;
    const lease = await this.leases.acquire(start.streamId).catch((cause: unknown) => ({ kind: 'unavailable' as const, cause }));
    const lastEnd =
      lease.kind === 'acquired'
        ? await lastEndFor(this.jsm, o, start.streamId).then(
            (end) => ({ endedAtNanos: end?.endedAtNanos }),
            (cause: unknown) => ({ cause }),
          )
        : undefined;
    const decided = admission({
      lease,
      startNanos: m.timestampNanos,
      lastEnd,
      endSeenNanos: watch.endSeenNanos,
      retryDelayMs: o.retryDelayMs,
    });
    if (lease.kind === 'unavailable') {
      this.log.warn({ err: lease.cause, streamId: start.streamId }, 'lease store unavailable; start will be retried');
      m.nak(o.retryDelayMs);
      return;
    }
    if (decided.kind === 'held-elsewhere') {
      this.log.debug({ streamId: start.streamId, holder: decided.holder, retryInMs: decided.retryInMs }, 'stream held by another worker');
      this.events.emit('intake.heldElsewhere', { streamId: start.streamId, holder: decided.holder });
      m.nak(decided.retryInMs);
      return;
    }
    if (lease.kind !== 'acquired') return;
    if (lease.previousHolder) {
      this.log.info({ streamId: start.streamId, from: lease.previousHolder }, 'took over a stale lease');
      this.ownershipChanged(start.streamId);
    }
    const runId = runIdFor(lease.lease, m);
    if (decided.kind !== 'screen') {
      const log = this.log.child({ streamId: start.streamId, runId });
      const disposal =
        decided.kind === 'skip-ended'
          ? ({ kind: 'ack_release', cause: 'ended' } as const)
          : ({ kind: 'release_nak', delayMs: decided.delayMs } as const);
      if (decided.kind === 'skip-ended') log.info("start is older than the stream's last end: not screening");
      else log.warn({ err: decided.cause }, 'admission failed; the start will be retried');
      await disposeStart({ msg: m, lease: lease.lease, log, requestTimeoutMs: o.requestTimeoutMs }, disposal).catch((err: unknown) =>
        log.error({ err, admission: decided.kind }, 'finishing the assignment failed'),
      );
      this.events.emit('intake.finished', {
        streamId: start.streamId,
        runId,
        outcome: decided.kind === 'skip-ended' ? 'skipped_ended' : 'abandoned',
      });
      return;
    }
    const held = new HeldStream({
      msg: m,
      start,
      lease: lease.lease,
      options: o,
      logger: this.log,
      workerId: this.workerId,
      publisher: this.deps.publisher,
      hardStop: this.hardStop.signal,
      events: this.events,
      onAnomaly: (streamId: string, anomaly: LeaseAnomaly) => this.leaseIssue(streamId, anomaly),
      onDone: (s, outcome) => {
        if (outcome === 'lease_lost') this.ownershipChanged(s.streamId);
        if (this.active.get(s.streamId) === s) this.active.delete(s.streamId);
        this.events.emit('intake.finished', { streamId: s.streamId, runId: s.runId, outcome });
        this.wakeCapacityWaiters();
      },
    });
    this.active.set(start.streamId, held);
    this.deps.capacity?.admitted();
    this.log.info({ streamId: start.streamId, runId, delivery: m.info.deliveryCount }, 'screening stream');
    this.events.emit('intake.assigned', {
      streamId: start.streamId,
      runId,
      deliveryCount: m.info.deliveryCount,
      ...(lease.previousHolder ? { tookOverFrom: lease.previousHolder } : {}),
    });
    held.run(this.deps.onAssignment);
  }

  /**
   * Bad input is kept, with every reason, on the dead-letter subject, and only then terminated
   * (never redelivered). Until the dead letter is stored the message is held with working(), for
   * at most deadLetterTimeoutMs: then it goes back with a growing delay and is dead-lettered on
   * a later delivery (by any worker). If the worker stops first it goes back at once.
   */
  private async deadLetter(m: JsMsg, reason: DeadLetterReason, issues: readonly string[]): Promise<void> {
    const o = this.options;
    const event = buildDeadLetter({ stream: o.startsStream, seq: m.seq, subject: m.subject, data: m.data }, reason, issues, this.workerId);
    const deliveryCount = m.info.deliveryCount;
    this.log.warn({ subject: m.subject, reason, issues, eventId: event.eventId, deliveryCount }, 'invalid start event: dead-lettering');
    const keepAlive = setInterval(() => m.working(), o.heartbeatMs);
    const deadline = AbortSignal.timeout(o.deadLetterTimeoutMs);
    try {
      await this.deps.publisher.publishDeadLetter(event, { signal: AbortSignal.any([this.intake.signal, deadline]) });
      // No reason argument: nats-server 2.9 does not parse "+TERM <reason>" and would redeliver.
      m.term();
      this.events.emit('intake.deadLetter', { subject: m.subject, reason, kind: 'start' });
    } catch (err) {
      if (this.intake.signal.aborted) {
        this.log.info({ eventId: event.eventId }, 'stopping before the dead letter was stored; handing the message back');
        m.nak();
        return;
      }
      const why = deadline.aborted ? 'timeout' : 'refused';
      const retryInMs = backoffDelay(deliveryCount, o.retryDelayMs, Math.max(o.retryDelayMs, MAX_DEAD_LETTER_RETRY_MS));
      this.log.error(
        { err, eventId: event.eventId, why, retryInMs, deliveryCount },
        'dead letter not stored; the invalid start comes back later',
      );
      this.events.emit('intake.deadLetterDeferred', { subject: m.subject, reason, why, retryInMs, deliveryCount });
      m.nak(retryInMs);
    } finally {
      clearInterval(keepAlive);
    }
  }

  /** The server's ack_wait and lease TTL drive our heartbeat math: refuse to run on other values. */
  private async checkServerTimings(bucketTtl: Promise<number>): Promise<void> {
    const o = this.options;
    const ci = await this.jsm.consumers.info(o.startsStream, o.consumerName);
    const ackWaitMs = ci.config.ack_wait === undefined ? undefined : millis(ci.config.ack_wait);
    const ttl = await bucketTtl;
    const issues: string[] = [];
    if (ackWaitMs !== o.ackWaitMs) issues.push(`consumer ${o.consumerName} has ack_wait ${ackWaitMs} ms, options say ${o.ackWaitMs}`);
    if (ttl !== o.leaseTtlMs) issues.push(`bucket ${o.leaseBucket} has TTL ${ttl} ms, options say ${o.leaseTtlMs}`);
    if (issues.length > 0) {
      throw new ConfigError("server-side ingest settings differ from this worker's (provision, or align the options)", issues);
    }
  }

  private wakeCapacityWaiters(): void {
    const waiters = this.capacityWaiters;
    this.capacityWaiters = [];
    for (const w of waiters) w();
  }
}
