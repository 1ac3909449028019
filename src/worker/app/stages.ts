/**
 * Stage assembly shared by the worker and `streamscreen screen`: every stage built from the
 * validated config, handed its collaborators and the one event emitter.
 */
import type { LoadedConfig } from '../../config/index.js';
import type { Emitter } from '../../domain/hooks.js';
import type { Logger } from '../../domain/logger.js';
import type { DecisionSink, FrameSourceFactory, MatchGate } from '../../domain/ports.js';
import { openClassifier, type Classifier } from '../classify/index.js';
import { faceAgeFactory } from '../classify/load-face-part.js';
import type { WorkerEvents } from '../events.js';
import { createFileHashLists, type FileHashLists } from '../hash/file-lists.js';
import { createHashMatcher, type HashMatcherService } from '../hash/hash-matcher.js';
import { createPdqHasher } from '../hash/pdq-hasher.js';
import { createStreamScreener, type StreamScreener, type StreamScreenerOptions } from '../pipeline/stream-screener.js';
import type { PolicyOptions } from '../policy/index.js';
import type { DecisionPublisher } from '../publish/index.js';
import { createSampler, resolveFfmpeg, type FfmpegBinary } from '../sampler/index.js';

/** The stages shared by the worker and `streamscreen screen`. */
export interface ScreeningStages {
  readonly ffmpeg: FfmpegBinary;
  readonly matcher: HashMatcherService;
  readonly fileLists: FileHashLists;
  readonly classifier?: Classifier;
  readonly openSource: FrameSourceFactory;
  close(): Promise<void>;
}

export function policyOptions(config: LoadedConfig['config']): PolicyOptions {
  return { ...config.policy };
}

export function screenerOptions(config: LoadedConfig['config']): StreamScreenerOptions {
  return {
    frameBudgetMs: config.pipeline.frameBudgetMs,
    classifierFailuresToReport: config.pipeline.classifierFailuresToReport,
    dihedral: config.hash.dihedral,
  };
}

export interface ScreenerWiring {
  readonly workerId: string;
  readonly logger: Logger;
  readonly events: Emitter<WorkerEvents>;
  readonly sink: DecisionSink;
  /** Flood quarantine shared by the workers (none for `screen`: one stream cannot flood). */
  readonly gate?: MatchGate;
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
    sink: w.sink,
    policy: policyOptions(loaded.config),
    options: screenerOptions(loaded.config),
  });
}

/**
 * Loads hash lists (all or nothing: a bad list refuses start-up with its file and line), finds
 * ffmpeg, and warms the classifiers up, in that order of cost.
 */
export async function buildScreeningStages(loaded: LoadedConfig, logger: Logger, events: Emitter<WorkerEvents>): Promise<ScreeningStages> {
  const { config } = loaded;
  const ffmpeg = await resolveFfmpeg({ envPath: loaded.ffmpeg.envPath, pathEnv: loaded.ffmpeg.pathEnv, logger });

  const matcher = createHashMatcher({ maxDistance: config.hash.maxDistance, minQuality: config.hash.minQuality });
  const fileLists = createFileHashLists({ sink: matcher.source('files'), lists: config.hash.lists, logger });
  await fileLists.load();

  let classifier: Classifier | undefined;
  if (config.classify.enabled) {
    classifier = await openClassifier({
      logger,
      ...(config.classify.faces ? { faceAge: faceAgeFactory } : {}),
      options: {
        ...(config.classify.manifestPath ? { manifestPath: config.classify.manifestPath } : {}),
        intraOpThreads: config.classify.intraOpThreads,
        maxBatch: config.classify.maxBatch,
        custom: config.classify.custom,
      },
    });
    logger.info({ models: classifier.models, faces: classifier.faces }, 'classifiers ready');
  }

  const s = config.sampler;
  const openSource: FrameSourceFactory = ({ streamId, url, signal }) =>
    createSampler({
      url,
      streamId,
      // The sampler stops on abort even while connecting, stalled or backing off, when no frame
      // arrives to let the screener notice.
      signal,
      ffmpeg,
      logger: logger.child({ streamId }),
      options: {
        fps: s.fps,
        width: s.width,
        height: s.height,
        scaleMode: s.scaleMode,
        allowFiles: s.allowFiles,
        rwTimeoutMs: s.rwTimeoutMs,
        stallTimeoutMs: s.stallTimeoutMs,
        maxRestarts: s.maxRestarts,
        backoffBaseMs: s.backoffBaseMs,
        backoffMaxMs: s.backoffMaxMs,
      },
      events,
    });

  return {
    ffmpeg,
    matcher,
    fileLists,
    classifier,
    openSource,
    close: async () => {
      await classifier?.close();
    },
  };
}

export function sinkFor(publisher: DecisionPublisher): DecisionSink {
  return {
    killSwitch: async (event, signal) => void (await publisher.publishKillSwitch(event, { signal })),
    escalation: async (event, signal) => void (await publisher.publishEscalation(event, { signal })),
    failure: async (event, signal) => void (await publisher.publishFailure(event, { signal })),
    quarantine: async (event, signal) => void (await publisher.publishQuarantine(event, { signal })),
  };
}
