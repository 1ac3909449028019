import type { PolicyOptions, ScreenerOptions } from '../../config/index.js';
import type { FrameRef, HashMatch } from '../../contracts/index.js';
import { errorCode, LeaseLostError } from '../../domain/errors.js';
import { screeningFailureEvent } from '../../domain/failure.js';
import type { RawFrame } from '../../domain/frame.js';
import type { ScreeningOutcome } from '../../domain/screening-outcome.js';
import type { Logger } from '../../domain/logger.js';
import { DIHEDRAL_ORDER, pdqToHex, type PdqHash } from '../../domain/pdq.js';
import type {
  DecisionSink,
  FrameClassifier,
  FrameHasher,
  FrameMatches,
  FrameSource,
  FrameSourceFactory,
  HashMatcher,
  MatchGate,
} from '../../domain/ports.js';
import type { FrameSignals } from '../../domain/signals.js';
import type { StreamStart } from '../../domain/stream.js';
import { silentHooks, type Emitter } from '../../domain/hooks.js';
import type { WorkerEvents } from '../events.js';
import { decide, INITIAL_POLICY_STATE, type PolicyState } from '../policy/index.js';
import { toEvent } from './decision-event.js';
import { VideoWindow } from './video-window.js';

export interface StreamScreenerDeps {
  readonly workerId: string;
  readonly logger: Logger;
  /** Frames, latencies, matches, decisions and shed work (`pipeline.*` of WorkerEvents). */
  readonly events?: Emitter<WorkerEvents>;
  readonly openSource: FrameSourceFactory;
  readonly hasher: FrameHasher;
  readonly matcher: HashMatcher;
  /** Flood quarantine: list entries matching on too many streams stop acting. None: every match acts. */
  readonly gate?: MatchGate;
  readonly classifier?: FrameClassifier;
  readonly sink: DecisionSink;
  readonly policy: PolicyOptions;
  /** pipeline.* and hash.dihedral, resolved at load. */
  readonly options: ScreenerOptions;
  /**
   * Where the policy's per-stream state (cooldowns) is kept across handovers: read when a
   * screening starts, written after every decision. Without it each screening starts afresh.
   */
  readonly policyState?: PolicyStateStore;
  readonly now?: () => number;
}

/** The policy state of a stream, kept where the next holder of the stream finds it. */
export interface PolicyStateStore {
  load(streamId: string): Promise<PolicyState | undefined>;
  /** In the background; never waits for NATS. */
  save(streamId: string, state: PolicyState): void;
}

/** One stream this worker owns, as the ingest stage hands it over. */
export interface ScreeningJob {
  readonly start: StreamStart;
  /** One per lease acquisition: event ids include it so a new owner's decisions never dedupe against the old one's. */
  readonly runId: string;
  /** Aborted when the stream ends, the lease is lost, or the worker shuts down: stop screening. */
  readonly signal: AbortSignal;
  /**
   * Aborted only when publishing for this stream must stop (lease lost, or the stream handed on
   * after the grace period). A kill-switch still being retried when the stream ends goes out.
   */
  readonly publishSignal: AbortSignal;
  /** Throws LeaseLostError when another worker owns the stream now. */
  assertOwned(): Promise<void>;
}

export type { ScreeningOutcome };

export interface StreamScreener {
  screen(job: ScreeningJob): Promise<ScreeningOutcome>;
}

export function createStreamScreener(deps: StreamScreenerDeps): StreamScreener {
  const now = deps.now ?? Date.now;
  const events = deps.events ?? silentHooks<WorkerEvents>();

  function hashAndMatch(frame: RawFrame): { hash: PdqHash; quality: number; found: FrameMatches } {
    let hashes: readonly PdqHash[];
    let quality: number;
    if (deps.options.dihedral && deps.hasher.hashDihedral) {
      const r = deps.hasher.hashDihedral(frame);
      hashes = DIHEDRAL_ORDER.map((name) => r.hashes[name]);
      quality = r.quality;
    } else {
      const r = deps.hasher.hash(frame);
      hashes = [r.hash];
      quality = r.quality;
    }
    events.emit('pipeline.latency', { stage: 'hash', seconds: (now() - frame.capturedAt) / 1000 });
    const found = deps.matcher.matchFrame(hashes, quality);
    for (const m of found.matches) events.emit('pipeline.match', { list: m.list });
    return { hash: hashes[0]!, quality, found };
  }

  /**
   * The matches that act on this frame: none when a negative list recognised it (the suppressed
   * ones counted and logged), and none of a quarantined entry (counted, logged; an entry this
   * frame pushed over the threshold is reported). Quarantine needs shared state, so it is
   * consulted only for frames that matched.
   */
  async function actingMatches(job: ScreeningJob, found: FrameMatches, seq: number, log: Logger): Promise<readonly HashMatch[]> {
    if (found.suppressed.length > 0) {
      const by = found.negative[0]!.list;
      for (const m of found.suppressed) events.emit('pipeline.suppressed', { list: m.list, by });
      log.info(
        { seq, negative: found.negative, suppressed: found.suppressed.map((m) => ({ list: m.list, hash: m.hash, distance: m.distance })) },
        'matches suppressed: the frame matched a negative list',
      );
    }
    if (!deps.gate || found.matches.length === 0) return found.matches;
    const gated = await deps.gate.screen(job.start.streamId, found.matches);
    for (const m of gated.quarantined) events.emit('pipeline.quarantined', { list: m.list });
    if (gated.quarantined.length > 0) {
      log.warn(
        { seq, quarantined: gated.quarantined.map((m) => ({ list: m.list, hash: m.hash })) },
        'matches of quarantined entries not acted on',
      );
    }
    for (const event of gated.newlyQuarantined) {
      log.error(
        { eventId: event.eventId, list: event.list, hash: event.hash, streams: event.streams },
        'list entry quarantined: matched on too many streams',
      );
      try {
        await deps.sink.quarantine(event, job.publishSignal);
        events.emit('pipeline.decision', { kind: 'quarantine', shadow: false });
      } catch (err) {
        // The quarantine itself is in the shared store; only the report is lost. Screening goes on.
        log.error({ err, eventId: event.eventId }, 'could not publish the quarantine event');
      }
    }
    return gated.acting;
  }

  async function screen(job: ScreeningJob): Promise<ScreeningOutcome> {
    const { start, signal } = job;
    const log = deps.logger.child({ streamId: start.streamId });
    let source: FrameSource | undefined;
    // A cooldown started by the stream's previous holder still holds.
    let state: PolicyState = (await deps.policyState?.load(start.streamId)) ?? INITIAL_POLICY_STATE;
    // Which frames of known videos this stream matched lately (vPDQ over a sliding window).
    const videos = new VideoWindow();
    let classifierFailures = 0;

    /** Runs the policy on what is known so far and publishes what it decides. */
    const decideAndPublish = async (
      frame: RawFrame,
      known: { matches: HashMatch[]; videoMatches?: HashMatch[]; signals?: FrameSignals },
      ref: () => FrameRef,
    ) => {
      const decidedAt = now();
      const result = decide(state, { capturedAt: frame.capturedAt, seq: frame.seq, ...known }, deps.policy, decidedAt);
      state = result.state;
      for (const decision of result.decisions) {
        const event = toEvent(decision, {
          start,
          runId: job.runId,
          workerId: deps.workerId,
          frame: ref(),
          capturedAt: frame.capturedAt,
          decidedAt,
        });
        // Recorded even if the stream has just changed hands: a decision made on a frame this
        // worker screened is never dropped (the sink's outbox delivers it; consumers dedupe by id).
        try {
          if (event.type === 'killswitch') await deps.sink.killSwitch(event, job.publishSignal);
          else await deps.sink.escalation(event, job.publishSignal);
        } catch (err) {
          log.error({ err, eventId: event.eventId, type: event.type, seq: frame.seq }, 'decision could not be handed over');
          throw err;
        }
        events.emit('pipeline.decision', { kind: event.type, shadow: decision.shadow });
        log.info({ eventId: event.eventId, type: event.type, latencyMs: event.latencyMs, seq: frame.seq }, 'decision published');
      }
      if (result.decisions.length > 0) deps.policyState?.save(start.streamId, state);
    };

    /**
     * A classifier error costs that frame its signals, not the stream its screening: the hash
     * check goes on. Repeated failures are reported once as a screening failure, so nobody
     * believes classifiers are watching a stream when they are not.
     */
    const classify = async (frame: RawFrame, classifier: FrameClassifier): Promise<FrameSignals | undefined> => {
      try {
        const signals = await classifier.classify(frame);
        events.emit('pipeline.latency', { stage: 'classify', seconds: (now() - frame.capturedAt) / 1000 });
        classifierFailures = 0;
        return signals;
      } catch (err) {
        classifierFailures++;
        events.emit('pipeline.error', { code: errorCode(err) });
        events.emit('pipeline.shed', { reason: 'classifier_failed' });
        log.warn({ err, seq: frame.seq, consecutive: classifierFailures }, 'classifiers failed on a frame; hash screening continues');
        if (classifierFailures === deps.options.classifierFailuresToReport) {
          await reportFailure(job, err, log, 'classifiers failing on this stream; hash screening continues');
        }
        return undefined;
      }
    };

    events.emit('pipeline.active', { delta: 1 });
    try {
      // Inside the try: a URL the sampler refuses (scheme not allowed) is a screening failure to
      // report like any other, not an exception that escapes the assignment.
      source = deps.openSource({ streamId: start.streamId, url: start.url, signal });
      for await (const frame of source.frames()) {
        if (signal.aborted) break;
        events.emit('pipeline.frame', { source: 'ffmpeg' });
        const ageAtStart = now() - frame.capturedAt;
        const a = hashAndMatch(frame);
        // Built only for frames that produce an event: hex and ISO formatting are not free per frame.
        const ref = (): FrameRef => ({
          seq: frame.seq,
          pts: frame.pts,
          capturedAt: new Date(frame.capturedAt).toISOString(),
          hash: pdqToHex(a.hash),
          quality: a.quality,
        });
        // The kill path does not wait for inference: hash matches are decided and published first.
        const matches = await actingMatches(job, a.found, frame.seq, log);
        const videoMatches = videos.observe(frame.capturedAt, a.found.videoFrames);
        for (const m of videoMatches) log.info({ seq: frame.seq, list: m.list, video: m.video }, 'known video matched');
        await decideAndPublish(frame, { matches: [...matches], videoMatches }, ref);

        if (deps.classifier) {
          if (ageAtStart > deps.options.frameBudgetMs) {
            events.emit('pipeline.shed', { reason: 'classifiers_over_budget' });
            log.warn({ seq: frame.seq, ageMs: ageAtStart }, 'frame over latency budget before screening: classifiers skipped');
          } else {
            const signals = await classify(frame, deps.classifier);
            if (signals) await decideAndPublish(frame, { matches: [], signals }, ref);
          }
        }
        const totalMs = now() - frame.capturedAt;
        events.emit('pipeline.latency', { stage: 'decision', seconds: totalMs / 1000 });
        if (totalMs > deps.options.frameBudgetMs) events.emit('pipeline.overBudget', {});
        // Per frame, at debug only: what npm run bench:load reads to measure every frame's
        // latency (pts ties it to the source's timeline), where decisions are published only on matches.
        log.debug({ seq: frame.seq, pts: frame.pts, capturedAt: frame.capturedAt, latencyMs: totalMs }, 'frame screened');
      }
      return signal.aborted ? { kind: 'stopped' } : { kind: 'source_ended' };
    } catch (err) {
      if (err instanceof LeaseLostError) {
        log.warn({ err }, 'lease lost: stopped screening this stream');
        return { kind: 'lease_lost' };
      }
      if (signal.aborted) return { kind: 'stopped' };
      events.emit('pipeline.error', { code: errorCode(err) });
      // Reported by the assigner (intake), the one place a stream's terminal failure becomes an event.
      return { kind: 'failed', error: err };
    } finally {
      events.emit('pipeline.active', { delta: -1 });
      await source?.stop().catch((err: unknown) => log.warn({ err }, 'sampler stop failed'));
    }
  }

  /** Degraded screening (the stream goes on, hash checks only) is reported here; a stream's end by failure is intake's to report. */
  async function reportFailure(job: ScreeningJob, err: unknown, log: Logger, message: string): Promise<boolean> {
    const event = screeningFailureEvent({ start: job.start, runId: job.runId, workerId: deps.workerId, error: err, message });
    try {
      await job.assertOwned();
      await deps.sink.failure(event, job.publishSignal);
      events.emit('pipeline.decision', { kind: 'failure', shadow: false });
      log.warn({ eventId: event.eventId, code: event.code }, 'screening failure reported');
      return true;
    } catch (publishErr) {
      log.error({ err: publishErr }, 'could not report screening failure');
      return false;
    }
  }

  return { screen };
}
