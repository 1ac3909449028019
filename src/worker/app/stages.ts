/**
 * Stage assembly shared by the worker and `streamscreen screen`: every stage built with the
 * options config/ resolved at load, handed its collaborators and the one event emitter.
 */
import type { LoadedConfig } from '../../config/index.js';
import type { Emitter } from '../../domain/hooks.js';
import type { Logger } from '../../domain/logger.js';
import type { CaseStateStore, DecisionSink, EvidenceStore, FrameSourceFactory, HashListEditor, MatchGate } from '../../domain/ports.js';
import type { CasePublisher } from '../cases/case-publisher.js';
import type { CaseModel } from '../../contracts/index.js';
import { AGE_GENDER_MODEL, FACE_DETECTOR_MODEL } from '../classify/face-constants.js';
import { loadManifest } from '../classify/manifest.js';
import { openClassifier, type Classifier } from '../classify/index.js';
import { faceAgeFactory } from '../classify/load-face-part.js';
import type { WorkerEvents } from '../events.js';
import { createFileHashLists, type FileHashLists } from '../../hash/file-lists.js';
import { createHashMatcher, type HashMatcherService } from '../../hash/hash-matcher.js';
import { createPdqHasher } from '../../hash/pdq-hasher.js';
import { createStreamScreener, type LiveStreamRegistry, type PolicyStateStore, type StreamScreener } from '../pipeline/stream-screener.js';
import { faceGate } from '../policy/index.js';
import type { DecisionPublisher } from '../publish/index.js';
import { createSampler, resolveFfmpeg, type FfmpegBinary, type SamplingPressure } from '../sampler/index.js';
import { createInferenceScheduler, type DegradationView, type InferenceScheduler } from '../schedule/index.js';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { ConfigError } from '../../domain/errors.js';

/** The stages shared by the worker and `streamscreen screen`. */
export interface ScreeningStages {
  readonly ffmpeg: FfmpegBinary;
  readonly matcher: HashMatcherService;
  readonly fileLists: FileHashLists;
  readonly classifier?: Classifier;
  /** The one inference scheduler over `classifier`, shared by every stream screened here. */
  readonly scheduler?: InferenceScheduler;
  /** Ids, versions and digests of the classifier models in use (from the manifest). */
  readonly models: readonly CaseModel[];
  readonly openSource: FrameSourceFactory;
  close(): Promise<void>;
}

export interface ScreenerWiring {
  readonly workerId: string;
  readonly logger: Logger;
  readonly events: Emitter<WorkerEvents>;
  readonly sink: DecisionSink;
  /** Flood quarantine shared by the workers (none for `screen`: one stream cannot flood). */
  readonly gate?: MatchGate;
  /** The worker's case state in KV, evidence store, list editor and live registry (absent in `screen`). */
  readonly cases?: CaseStateStore;
  readonly evidence?: EvidenceStore;
  readonly lists?: HashListEditor;
  readonly live?: LiveStreamRegistry;
  /** Where cooldowns survive a handover (the worker's KV); absent for `screen`. */
  readonly policyState?: PolicyStateStore;
}

/** The per-stream screener over the shared stages: one wiring for the worker and `screen`. */
export function createScreener(loaded: LoadedConfig, stages: ScreeningStages, w: ScreenerWiring): StreamScreener {
  return createStreamScreener({
    workerId: w.workerId,
    logger: w.logger,
    events: w.events,
    openSource: stages.openSource,
    hasher: createPdqHasher(),
    matcher: stages.matcher,
    ...(w.gate ? { gate: w.gate } : {}),
    classifier: stages.classifier,
    ...(stages.scheduler ? { scheduler: stages.scheduler } : {}),
    sink: w.sink,
    policy: loaded.stages.policy,
    options: loaded.stages.screener,
    models: stages.models,
    storyboardFrames: loaded.stages.evidence.storyboardFrames,
    ...(w.cases ? { cases: w.cases } : {}),
    ...(w.evidence ? { evidence: w.evidence } : {}),
    ...(w.lists ? { lists: w.lists } : {}),
    ...(w.live ? { live: w.live } : {}),
    ...(w.policyState ? { policyState: w.policyState } : {}),
  });
}

/**
 * Loads hash lists (all or nothing: a bad list refuses start-up with its file and line), finds
 * ffmpeg, and warms the classifiers up, in that order of cost.
 */
export async function buildScreeningStages(
  loaded: LoadedConfig,
  logger: Logger,
  events: Emitter<WorkerEvents>,
  extra: {
    /** The overload governor's view for the scheduler (classifiers off for low-risk streams); absent: never degraded. */
    readonly degradation?: DegradationView;
    /** The same governor's view for the samplers (keyframes only, half rate); absent: never degraded. */
    readonly pressure?: SamplingPressure;
  } = {},
): Promise<ScreeningStages> {
  const { config, stages } = loaded;
  const ffmpeg = await resolveFfmpeg({ envPath: loaded.ffmpeg.envPath, pathEnv: loaded.ffmpeg.pathEnv, logger });

  const matcher = createHashMatcher(stages.matcher);
  const fileLists = createFileHashLists({ sink: matcher.source('files'), lists: config.hash.lists, logger });
  await fileLists.load();

  let classifier: Classifier | undefined;
  let models: CaseModel[] = [];
  if (config.classify.enabled) {
    classifier = await openClassifier({
      logger,
      ...(config.classify.faces ? { faceAge: faceAgeFactory } : {}),
      // Faces only where apparent age can change a decision (policy/face-gate.ts).
      faceGate: faceGate(stages.policy, config.classify.facesNudityFloor ?? stages.policy.nudityWithMinorEscalateAt),
      options: stages.classifier,
    });
    logger.info({ models: classifier.models, faces: classifier.faces }, 'classifiers ready');
    models = await modelRefs(classifier, stages.classifier.manifestPath);
  }
  const ready = classifier;
  const scheduler = ready
    ? createInferenceScheduler({
        classify: (frame) => ready.classify(frame),
        options: { ...stages.screener.inference, frameBudgetMs: stages.screener.frameBudgetMs },
        ...(extra.degradation ? { degradation: extra.degradation } : {}),
        events,
        logger: logger.child({ stage: 'schedule' }),
      })
    : undefined;

  // A CA file that cannot be read must stop the deployment, not fail every https and rtmps stream.
  const caFile = stages.sampler.tlsCaFile;
  if (caFile) {
    await access(caFile, constants.R_OK).catch((err: unknown) => {
      throw new ConfigError(`sampler.tlsCaFile ${caFile} cannot be read`, [], { cause: err });
    });
  }
  const openSource: FrameSourceFactory = ({ streamId, url, signal }) =>
    createSampler({
      url,
      streamId,
      // The sampler stops on abort even while connecting, stalled or backing off, when no frame
      // arrives to let the screener notice.
      signal,
      ffmpeg,
      logger: logger.child({ streamId }),
      options: stages.sampler,
      events,
      ...(extra.pressure ? { pressure: extra.pressure } : {}),
    });

  return {
    ffmpeg,
    matcher,
    fileLists,
    classifier,
    ...(scheduler ? { scheduler } : {}),
    models,
    openSource,
    close: async () => {
      // Waiting frames settle as cancelled and running ones finish before the sessions go.
      await scheduler?.close();
      await classifier?.close();
    },
  };
}

export function sinkFor(publisher: DecisionPublisher, cases: CasePublisher): DecisionSink {
  return {
    killSwitch: async (event, signal) => void (await publisher.publishKillSwitch(event, { signal })),
    escalation: async (event, signal) => void (await publisher.publishEscalation(event, { signal })),
    failure: async (event, signal) => void (await publisher.publishFailure(event, { signal })),
    caseEvent: async (event, signal) => void (await cases.publishCase(event, { signal })),
    quarantine: async (event, signal) => void (await publisher.publishQuarantine(event, { signal })),
  };
}

/** What case events name: each model in use with its source version and file digest. */
async function modelRefs(classifier: Classifier, manifestPath: string): Promise<CaseModel[]> {
  const manifest = await loadManifest(manifestPath);
  // The face part runs two models under one id.
  const ids = classifier.models.flatMap((id) => (id === 'face-age' ? [FACE_DETECTOR_MODEL, AGE_GENDER_MODEL] : [id]));
  return ids.flatMap((id) => {
    const entry = manifest.models.find((m) => m.id === id);
    return entry ? [{ id, version: entry.source.version, sha256: entry.sha256 }] : [];
  });
}
