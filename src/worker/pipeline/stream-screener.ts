import type { PolicyOptions, ScreenerOptions } from '../../config/index.js';
import type { CaseModel, FrameRef, HashMatch, ReviewDecision } from '../../contracts/index.js';
import { errorCode, LeaseLostError } from '../../domain/errors.js';
import { screeningFailureEvent } from '../../domain/failure.js';
import type { RawFrame } from '../../domain/frame.js';
import type { ScreeningOutcome } from '../../domain/screening-outcome.js';
import type { Logger } from '../../domain/logger.js';
import { DIHEDRAL_ORDER, pdqToHex, type PdqHash } from '../../domain/pdq.js';
import type {
  CaseStateStore,
  DecisionSink,
  EvidenceStore,
  FrameClassifier,
  FrameHasher,
  FrameMatches,
  FrameSource,
  FrameSourceFactory,
  HashListEditor,
  HashMatcher,
  MatchGate,
  VideoFrameHit,
} from '../../domain/ports.js';
import type { StreamStart } from '../../domain/stream.js';
import { silentHooks, type Emitter } from '../../domain/hooks.js';
import type { WorkerEvents } from '../events.js';
import { AssignmentAbortedError } from '../intake/errors.js';
import { createInferenceScheduler, type InferenceOutcome, type InferenceScheduler } from '../schedule/index.js';
import type { CooldownState } from '../policy/index.js';
import { CaseKeeper, type ReviewAckData } from './case-keeper.js';
import { FrameRing } from './frame-ring.js';
import { gateFrame } from '../../hash/quarantine.js';
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
  /**
   * The worker's inference scheduler over `classifier`, shared by all streams (worker/schedule/).
   * Absent: the screener makes one for the streams it screens, from `options.inference`.
   */
  readonly scheduler?: InferenceScheduler;
  readonly sink: DecisionSink;
  readonly policy: PolicyOptions;
  /** pipeline.* and hash.dihedral, resolved at load. */
  readonly options: ScreenerOptions;
  /** Sampled frames kept per stream for the storyboard (evidence.storyboardFrames). */
  readonly storyboardFrames?: number;
  /** Case state in KV (handover, decisions for ended streams); absent: in memory only. */
  readonly cases?: CaseStateStore;
  /** Evidence renditions in the Object Store; absent: cases carry no storyboard. */
  readonly evidence?: EvidenceStore;
  /** add-to-list decisions. */
  readonly lists?: HashListEditor;
  /** The classifier models in use, for case events. */
  readonly models?: readonly CaseModel[];
  /** Streams screened here, for review decisions to reach their case state. */
  readonly live?: LiveStreamRegistry;
  /**
   * Where the kill-switch cooldown is kept across handovers (the worker's KV): read when a
   * screening starts, written after every kill-switch. Without it each screening starts afresh.
   */
  readonly policyState?: PolicyStateStore;
  readonly now?: () => number;
}

/** The cooldowns of a stream, kept where the next holder of the stream finds it. */
export interface PolicyStateStore {
  load(streamId: string): Promise<CooldownState | undefined>;
  /** In the background; never waits for NATS. */
  save(streamId: string, state: CooldownState): void;
}

/** Where review decisions find the stream a worker screens (worker/review/ applies them). */
export interface LiveStreamRegistry {
  /** Returns the function that unregisters it. */
  register(streamId: string, stream: LiveStream): () => void;
}

export interface LiveStream {
  review(decision: ReviewDecision): Promise<ReviewAckData>;
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
  // The worker hands in its one scheduler, shared by all its streams; a screener given only a
  // classifier (tests, tools) schedules the streams it screens itself, with the same options.
  const scheduler: InferenceScheduler | undefined =
    deps.scheduler ??
    (deps.classifier
      ? createInferenceScheduler({
          classify: (frame) => deps.classifier!.classify(frame),
          options: { ...deps.options.inference, frameBudgetMs: deps.options.frameBudgetMs },
          events,
          logger: deps.logger,
          now,
        })
      : undefined);

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
  async function actingMatches(
    job: ScreeningJob,
    found: FrameMatches,
    seq: number,
    log: Logger,
  ): Promise<{ readonly matches: readonly HashMatch[]; readonly videoFrames: readonly VideoFrameHit[] }> {
    if (found.suppressed.length > 0) {
      const by = found.negative[0]!.list;
      for (const m of found.suppressed) events.emit('pipeline.suppressed', { list: m.list, by });
      log.info(
        { seq, negative: found.negative, suppressed: found.suppressed.map((m) => ({ list: m.list, hash: m.hash, distance: m.distance })) },
        'matches suppressed: the frame matched a negative list',
      );
    }
    if (!deps.gate || (found.matches.length === 0 && found.videoFrames.length === 0)) return found;
    // Known-video frames are list entries too: a quarantined one stops counting towards its video.
    const gated = await gateFrame(deps.gate, job.start.streamId, found);
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
    return { matches: gated.acting, videoFrames: gated.videoFrames };
  }

  async function screen(job: ScreeningJob): Promise<ScreeningOutcome> {
    const { start, signal } = job;
    const streamId = start.streamId;
    const log = deps.logger.child({ streamId, runId: job.runId });
    let source: FrameSource | undefined;
    let classifierFailures = 0;
    const ring = new FrameRing(deps.storyboardFrames ?? 6);
    // Which frames of known videos this stream matched lately (vPDQ over a sliding window).
    const videos = new VideoWindow();
    const keeper = new CaseKeeper({
      ctx: { streamId, runId: job.runId, workerId: deps.workerId, metadata: start.metadata },
      policy: deps.policy,
      sink: deps.sink,
      ...(deps.cases ? { store: deps.cases } : {}),
      ...(deps.evidence ? { evidence: deps.evidence } : {}),
      ...(deps.lists ? { lists: deps.lists } : {}),
      ...(deps.models ? { models: deps.models } : {}),
      ...(deps.policyState ? { cooldowns: deps.policyState } : {}),
      ring,
      logger: log,
      events,
      publishSignal: job.publishSignal,
      assertOwned: () => job.assertOwned(),
      now,
    });
    // The keeper's calls for this stream, one after another: the hash path and the
    // classification results never interleave their decisions and publishes. Only keeper work
    // is ever on this chain, never an inference, so the hash path waits for no classifier.
    let keeperTail: Promise<unknown> = Promise.resolve();
    const serial = <T>(fn: () => Promise<T>): Promise<T> => {
      const p = keeperTail.then(fn);
      keeperTail = p.catch(() => undefined);
      return p;
    };
    // Classification results, handled in the order their frames arrived.
    let results: Promise<void> = Promise.resolve();
    // The first error a result's handling raised (a lost lease, a kill-switch not handed over):
    // it ends the screening as it would have in the frame loop.
    let resultError: { err: unknown } | undefined;
    const release = (): void => scheduler?.release(streamId);
    signal.addEventListener('abort', release, { once: true });

    /** Per frame, at debug only: what npm run bench:load reads to measure every frame's latency. */
    const screened = (frame: RawFrame, fields: Record<string, unknown>, decidedAt: number): void => {
      const totalMs = decidedAt - frame.capturedAt;
      events.emit('pipeline.latency', { stage: 'decision', seconds: totalMs / 1000 });
      if (totalMs > deps.options.frameBudgetMs) events.emit('pipeline.overBudget', {});
      // pts ties it to the source's timeline; decisions are published only on matches.
      log.debug({ seq: frame.seq, pts: frame.pts, capturedAt: frame.capturedAt, latencyMs: totalMs, ...fields }, 'frame screened');
    };

    /**
     * A classifier error costs that frame its signals, not the stream its screening: the hash
     * check goes on. Repeated failures are reported once as a screening failure, so nobody
     * believes classifiers are watching a stream when they are not.
     */
    const classifierFailed = async (frame: RawFrame, err: unknown): Promise<void> => {
      classifierFailures++;
      events.emit('pipeline.error', { code: errorCode(err) });
      events.emit('pipeline.shed', { reason: 'classifier_failed' });
      log.warn({ err, seq: frame.seq, consecutive: classifierFailures }, 'classifiers failed on a frame; hash screening continues');
      if (classifierFailures === deps.options.classifierFailuresToReport) {
        await reportFailure(job, err, log, 'classifiers failing on this stream; hash screening continues');
      }
      await keeper.unclassified({ code: 'classifiers_failed', message: 'classifiers failing on this stream; hash screening continues' });
    };

    /** What the scheduler made of a frame, applied to the stream's policy state (on the keeper chain). */
    const onOutcome = async (frame: RawFrame, outcome: InferenceOutcome, ref: () => FrameRef, hashDecidedAt: number): Promise<void> => {
      switch (outcome.kind) {
        case 'classified': {
          events.emit('pipeline.latency', { stage: 'classify', seconds: (now() - frame.capturedAt) / 1000 });
          classifierFailures = 0;
          events.emit('pipeline.signals', { streamId, seq: frame.seq, pts: frame.pts, signals: outcome.signals });
          await keeper.frame({ capturedAt: frame.capturedAt, seq: frame.seq, matches: [], signals: outcome.signals, ref });
          screened(frame, { classified: true, queuedMs: outcome.queuedMs, ranMs: outcome.ranMs }, now());
          return;
        }
        case 'failed':
          await classifierFailed(frame, outcome.error);
          break;
        case 'shed':
          if (outcome.reason === 'classifiers_over_budget') {
            log.warn(
              { seq: frame.seq, ageMs: now() - frame.capturedAt },
              'frame over latency budget before inference: classifiers skipped',
            );
            await keeper.unclassified({ code: 'classifiers_shed', message: 'classifiers shed: frames over the latency budget' });
          }
          // degraded_low_risk: a deliberate step of the overload governor, logged per stream by
          // the scheduler, not a failure that should open an unscreened case.
          break;
        case 'superseded':
        case 'cancelled':
          break;
      }
      screened(frame, { classified: false, skipped: outcome.kind === 'shed' ? outcome.reason : outcome.kind }, hashDecidedAt);
    };

    const unregister = deps.live?.register(streamId, keeper);
    events.emit('pipeline.active', { delta: 1 });
    let outcome: ScreeningOutcome | undefined;
    try {
      // A previous holder's open cases, suppressions and decisions continue here (handover). A
      // case store that cannot be read costs the history, never the screening.
      await keeper.load().catch((err: unknown) => log.warn({ err }, 'could not load the case state of this stream; starting afresh'));
      // Inside the try: a URL the sampler refuses (scheme not allowed) is a screening failure to
      // report like any other, not an exception that escapes the assignment.
      source = deps.openSource({ streamId, url: start.url, signal });
      for await (const frame of source.frames()) {
        if (signal.aborted) break;
        if (resultError) throw resultError.err;
        events.emit('pipeline.frame', { source: 'ffmpeg' });
        const a = hashAndMatch(frame);
        // A reference, not a copy: the storyboard costs no work per frame (frame-ring.ts).
        ring.push({ frame, hash: a.hash });
        // Built only for frames that produce an event: hex and ISO formatting are not free per frame.
        const ref = (): FrameRef => ({
          seq: frame.seq,
          pts: frame.pts,
          capturedAt: new Date(frame.capturedAt).toISOString(),
          hash: pdqToHex(a.hash),
          quality: a.quality,
        });
        // The kill path does not wait for inference: hash matches are decided and published first.
        const acting = await actingMatches(job, a.found, frame.seq, log);
        // Known videos the stream's recent frames amount to: matches of their list (carrying `video`).
        const videoMatches = videos.observe(frame.capturedAt, acting.videoFrames);
        for (const m of videoMatches) log.info({ seq: frame.seq, list: m.list, video: m.video }, 'known video matched');
        await serial(() =>
          keeper.frame({ capturedAt: frame.capturedAt, seq: frame.seq, matches: [...acting.matches, ...videoMatches], ref }),
        );
        const hashDecidedAt = now();

        if (!deps.classifier) {
          screened(frame, { classified: false }, hashDecidedAt);
        } else if (!deps.classifier.ready || !scheduler) {
          events.emit('pipeline.shed', { reason: 'classifier_failed' });
          await serial(() =>
            keeper.unclassified({ code: 'models_not_ready', message: 'classifier models are not ready; hash screening continues' }),
          );
          screened(frame, { classified: false, skipped: 'models_not_ready' }, hashDecidedAt);
        } else {
          // Submitted, not awaited: the next frame's hash check never waits for this inference.
          const openCase = keeper.state.cases.some((c) => c.state === 'open');
          const pending = scheduler.submit({ streamId, frame, openCase });
          results = results
            .then(() => pending)
            .then((o) => serial(() => onOutcome(frame, o, ref, hashDecidedAt)))
            .catch((err: unknown) => void (resultError ??= { err }));
          // Offline evaluation: every frame classified, in order (pipeline.classifyEveryFrame).
          if (deps.options.classifyEveryFrame) await results;
        }
      }
      await results;
      if (resultError) throw resultError.err;
      outcome = signal.aborted ? { kind: 'stopped' } : { kind: 'source_ended' };
    } catch (err) {
      if (err instanceof LeaseLostError) {
        log.warn({ err }, 'lease lost: stopped screening this stream');
        outcome = { kind: 'lease_lost' };
      } else if (signal.aborted) {
        outcome = { kind: 'stopped' };
      } else {
        events.emit('pipeline.error', { code: errorCode(err) });
        // Reported by the assigner (intake), the one place a stream's terminal failure becomes an event.
        outcome = { kind: 'failed', error: err };
      }
    } finally {
      // Its waiting frame settles as cancelled; one already running finishes and is handled
      // before the cases settle, so no classification outlives the stream's screening.
      signal.removeEventListener('abort', release);
      release();
      await results;
      unregister?.();
      events.emit('pipeline.active', { delta: -1 });
      await source?.stop().catch((err: unknown) => log.warn({ err }, 'sampler stop failed'));
    }
    await settleCases(keeper, outcome, job, log);
    ring.clear();
    return outcome;
  }

  /**
   * What the end of a screening means for the stream's cases: an ended stream closes them; a
   * stream that cannot be screened opens its unscreened case (fail-safe); a handover (shutdown,
   * lost lease, re-announce) leaves them open in KV for the next holder. Then whatever is still
   * queued goes out, within the publish grace intake allows.
   */
  async function settleCases(keeper: CaseKeeper, outcome: ScreeningOutcome, job: ScreeningJob, log: Logger): Promise<void> {
    try {
      if (outcome.kind === 'source_ended' || (outcome.kind === 'stopped' && endedBy(job.signal))) await keeper.ended();
      if (outcome.kind === 'failed') {
        // Code and message as the failure event states them: the public detail only, URLs redacted.
        const f = screeningFailureEvent({ start: job.start, runId: job.runId, workerId: deps.workerId, error: outcome.error });
        await keeper.unscreened({ code: f.code, message: f.message });
      }
      await keeper.flush();
    } catch (err) {
      if (!(err instanceof LeaseLostError)) log.warn({ err }, 'could not settle the cases of this stream');
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

/** The stream itself ended (an end event, or intake completing it): not a handover. */
function endedBy(signal: AbortSignal): boolean {
  const reason: unknown = signal.reason;
  return reason instanceof AssignmentAbortedError && (reason.reason === 'ended' || reason.reason === 'completed');
}
