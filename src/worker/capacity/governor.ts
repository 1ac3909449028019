import { performance } from 'node:perf_hooks';
import type { CapacityOptions } from '../../config/index.js';
import { silentHooks, type Emitter, type Listeners } from '../../domain/hooks.js';
import type { Logger } from '../../domain/logger.js';
import type { WorkerEvents } from '../events.js';
import type { AdmissionGate } from '../intake/capacity-gate.js';
import { ADMITTING, admissionLabel, decideAdmission, type AdmissionState } from './admission-policy.js';
import { nextDegradation, NOT_DEGRADED, pressureOf, type DegradationLevel, type DegradationState } from './degradation-policy.js';
import { procCpuSource, type CpuSource, type HostCpu } from './host-cpu.js';
import { BreachCounter, RollingReadings } from './rolling-window.js';
import type { LoadSignals } from './signals.js';

/**
 * The degradation steps in force, for the stages that carry them out: samplers (keyframes only,
 * half rate) and the inference scheduler (classifiers off for the lowest-risk streams).
 */
export interface DegradationView {
  /** 0 normal, 1 keyframes only, 2 half the frame rate, 3 classifiers off for the lowest-risk streams. */
  readonly level: DegradationLevel;
  /** Level >= 1: streams on `auto` decode keyframes only, even when they are sparser than maxKeyframeIntervalMs. */
  readonly keyframesOnly: boolean;
  /** Level >= 2: every stream passes on every other frame it samples. */
  readonly halfRate: boolean;
  /** Level >= 3: the scheduler may skip the classifiers of the lowest-risk streams. The hash check is never skipped. */
  readonly classifiersOffForLowRisk: boolean;
  /** Called after every change of level; returns a function that unsubscribes. */
  onChange(listener: () => void): () => void;
}

export interface CapacitySnapshot {
  readonly signals: LoadSignals;
  readonly cpusAvailable: number;
  readonly admission: AdmissionState;
  readonly degradationLevel: DegradationLevel;
  /** Streams the measures say this worker could hold (the cap in fixed mode). */
  readonly estimatedCapacity: number;
}

export interface CapacityGovernor extends AdmissionGate {
  admission(held: number): AdmissionState;
  readonly degradation: DegradationView;
  /** Subscribe these to the worker's events: decided frames, their latency and frames lost feed the breach rate. */
  readonly listeners: Listeners<WorkerEvents>;
  /** Samples every options.sampleMs until stop(). */
  start(): void;
  stop(): void;
  /** One sample: read CPU and the event loop, update the signals, the admission state and the degradation level. */
  sample(): void;
  snapshot(): CapacitySnapshot;
}

export interface EventLoopReading {
  readonly idle: number;
  readonly active: number;
}

export interface CapacityGovernorDeps {
  readonly options: CapacityOptions;
  /** pipeline.frameBudgetMs: a decision later than this is a breach. */
  readonly frameBudgetMs: number;
  readonly logger: Logger;
  readonly events?: Emitter<WorkerEvents>;
  /** /proc and cgroup by default; tests feed values. */
  readonly cpu?: CpuSource;
  /** Cumulative event-loop idle and active ms (perf_hooks by default). */
  readonly eventLoop?: () => EventLoopReading;
  /** Monotonic ms (performance.now by default). */
  readonly now?: () => number;
}

export function createCapacityGovernor(deps: CapacityGovernorDeps): CapacityGovernor {
  const o = deps.options;
  const log = deps.logger.child({ component: 'capacity' });
  const events = deps.events ?? silentHooks<WorkerEvents>();
  const cpuSource = deps.cpu ?? procCpuSource();
  const eventLoop = deps.eventLoop ?? (() => performance.eventLoopUtilization());
  const now = deps.now ?? (() => performance.now());

  const cpuReadings = new RollingReadings<number>(o.windowMs);
  const hostReadings = new RollingReadings<HostCpu>(o.windowMs);
  const loopReadings = new RollingReadings<EventLoopReading>(o.windowMs);
  const breaches = new BreachCounter(o.breachWindowMs);
  let signals: LoadSignals = { cpu: undefined, elu: undefined, breaches: undefined };
  let cpus = cpuSource.cpusAvailable();
  let admission: AdmissionState = ADMITTING;
  let lastHeld = 0;
  let degradation: DegradationState = NOT_DEGRADED;
  const admittedAt: number[] = [];
  const degradationListeners = new Set<() => void>();
  let changeWaiters: Array<() => void> = [];
  let timer: NodeJS.Timeout | undefined;

  const settling = (at: number): number => {
    while (admittedAt.length > 0 && at - admittedAt[0]! >= o.admit.settleMs) admittedAt.shift();
    return admittedAt.length;
  };

  const evaluate = (held: number): AdmissionState => {
    lastHeld = held;
    const next = decideAdmission(
      {
        mode: o.mode,
        held,
        maxStreams: o.maxStreams,
        signals,
        settling: settling(now()),
        streamCpu: o.admit.streamCpuEstimate / cpus,
        degradationLevel: degradation.level,
        previous: admission,
      },
      o.admit,
    );
    const before = admissionLabel(admission);
    const after = admissionLabel(next);
    admission = next;
    if (before !== after) {
      const fields = {
        state: after,
        previous: before,
        held,
        maxStreams: o.maxStreams,
        ...rounded(signals),
        degradationLevel: degradation.level,
      };
      if (next.kind === 'admitting') log.info(fields, 'admitting streams again');
      else log.warn(fields, `not taking new streams: ${reasonText(next.reason)}; starts stay for other workers`);
      events.emit('capacity.admission', { state: after, previous: before });
    }
    return next;
  };

  const estimatedCapacity = (): number => {
    if (o.mode === 'fixed' || lastHeld === 0) return o.maxStreams;
    const byCpu = signals.cpu && signals.cpu > 0 ? Math.floor((lastHeld * o.admit.cpuBelow) / signals.cpu) : o.maxStreams;
    const byLoop = signals.elu && signals.elu > 0 ? Math.floor((lastHeld * o.admit.eluBelow) / signals.elu) : o.maxStreams;
    return Math.max(1, Math.min(o.maxStreams, byCpu, byLoop));
  };

  const view: DegradationView = {
    get level() {
      return degradation.level;
    },
    get keyframesOnly() {
      return degradation.level >= 1;
    },
    get halfRate() {
      return degradation.level >= 2;
    },
    get classifiersOffForLowRisk() {
      return degradation.level >= 3;
    },
    onChange(listener) {
      degradationListeners.add(listener);
      return () => degradationListeners.delete(listener);
    },
  };

  const sample = (): void => {
    const at = now();
    cpus = cpuSource.cpusAvailable();
    const cpuSeconds = cpuSource.treeCpuSeconds();
    if (cpuSeconds !== undefined) cpuReadings.push(at, cpuSeconds);
    const host = cpuSource.hostCpuSeconds?.();
    if (host !== undefined) hostReadings.push(at, host);
    loopReadings.push(at, eventLoop());
    const cpuSpan = cpuReadings.span();
    const loopSpan = loopReadings.span();
    const counted = breaches.totals(at);
    const hostSpan = hostReadings.span();
    const treeShare =
      cpuSpan && cpuSpan.to.at > cpuSpan.from.at
        ? (cpuSpan.to.value - cpuSpan.from.value) / ((cpuSpan.to.at - cpuSpan.from.at) / 1000) / cpus
        : undefined;
    const hostShare =
      hostSpan && hostSpan.to.value.total > hostSpan.from.value.total
        ? (hostSpan.to.value.busy - hostSpan.from.value.busy) / (hostSpan.to.value.total - hostSpan.from.value.total)
        : undefined;
    signals = {
      // The tighter of the two: the worker's own tree against its CPUs, and the host's busy share.
      cpu: treeShare === undefined ? hostShare : Math.max(treeShare, hostShare ?? 0),
      elu: loopSpan ? utilisation(loopSpan.from.value, loopSpan.to.value) : undefined,
      breaches: counted.frames >= o.minFramesForBreachRate ? counted.breaches / counted.frames : undefined,
    };
    const degradeOptions = { ...o.degrade, maxLevel: o.degrade.enabled ? o.degrade.maxLevel : 0 };
    const next = nextDegradation(degradation, pressureOf(signals, o.degrade), at, degradeOptions);
    const previousLevel = degradation.level;
    degradation = next;
    if (next.level !== previousLevel) {
      const direction = next.level > previousLevel ? 'up' : 'down';
      const fields = { level: next.level, previous: previousLevel, ...rounded(signals), held: lastHeld };
      if (direction === 'up') log.warn(fields, `overloaded: degrading to level ${next.level} (${LEVEL_TEXT[next.level]})`);
      else log.info(fields, `headroom again: back to level ${next.level} (${LEVEL_TEXT[next.level]})`);
      events.emit('capacity.degradation', { level: next.level, previous: previousLevel });
      for (const l of degradationListeners) {
        try {
          l();
        } catch (err) {
          log.error({ err }, 'degradation listener threw; ignored');
        }
      }
    }
    evaluate(lastHeld);
    events.emit('capacity.sample', { ...signals, cpusAvailable: cpus, estimatedCapacity: estimatedCapacity() });
    const waiters = changeWaiters;
    changeWaiters = [];
    for (const w of waiters) w();
  };

  return {
    degradation: view,
    listeners: {
      'pipeline.latency': ({ stage, seconds }) => {
        if (stage === 'decision') breaches.record(now(), seconds * 1000 > deps.frameBudgetMs);
      },
      // A frame lost before it was decided is a breach too.
      'sampler.drop': () => breaches.record(now(), true),
    },
    admission: evaluate,
    admitted: () => void admittedAt.push(now()),
    changed: () => new Promise<void>((resolve) => changeWaiters.push(resolve)),
    start: () => {
      if (timer) return;
      sample();
      timer = setInterval(sample, o.sampleMs);
      timer.unref();
    },
    stop: () => {
      clearInterval(timer);
      timer = undefined;
      const waiters = changeWaiters;
      changeWaiters = [];
      for (const w of waiters) w();
    },
    sample,
    snapshot: () => ({
      signals,
      cpusAvailable: cpus,
      admission,
      degradationLevel: degradation.level,
      estimatedCapacity: estimatedCapacity(),
    }),
  };
}

const LEVEL_TEXT: Record<DegradationLevel, string> = {
  0: 'normal',
  1: 'keyframes only',
  2: 'half frame rate',
  3: 'classifiers off for the lowest-risk streams',
};

function reasonText(reason: Exclude<AdmissionState, { kind: 'admitting' }>['reason']): string {
  switch (reason) {
    case 'cap':
      return 'at worker.maxStreams';
    case 'cpu':
      return 'CPU near its admission limit';
    case 'elu':
      return 'event loop near its admission limit';
    case 'breaches':
      return 'frames decided over budget';
    case 'degraded':
      return 'degraded under overload';
  }
}

function utilisation(from: EventLoopReading, to: EventLoopReading): number | undefined {
  const active = to.active - from.active;
  const total = active + (to.idle - from.idle);
  return total > 0 ? active / total : undefined;
}

function rounded(s: LoadSignals): Record<string, number | undefined> {
  const r = (v: number | undefined): number | undefined => (v === undefined ? undefined : Math.round(v * 1000) / 1000);
  return { cpu: r(s.cpu), elu: r(s.elu), breaches: r(s.breaches) };
}
