import type { AdmissionMode } from '../../config/index.js';
import type { LoadSignals } from './signals.js';

import type { AdmissionLabel } from '../events.js';

/** Why a worker pulls no new stream (a metric label): a measure at its limit, degraded, or the hard cap. */
export type FullReason = Exclude<AdmissionLabel, 'admitting'>;

export type AdmissionState = { readonly kind: 'admitting' } | { readonly kind: 'full'; readonly reason: FullReason };

export interface AdmitThresholds {
  readonly cpuBelow: number;
  readonly eluBelow: number;
  readonly breachesBelow: number;
  readonly resumeMargin: number;
}

export interface AdmissionInput {
  readonly mode: AdmissionMode;
  /** Streams held (and being admitted) now. */
  readonly held: number;
  readonly maxStreams: number;
  readonly signals: LoadSignals;
  /** Streams admitted within settleMs: their cost may not show in the CPU measure yet. */
  readonly settling: number;
  /** What one stream is expected to add to the CPU measure (a share of the available CPUs). */
  readonly streamCpu: number;
  readonly degradationLevel: number;
  /** The state this replaces: a measure that made the worker full must fall below its limit by the margin. */
  readonly previous: AdmissionState;
}

export const ADMITTING: AdmissionState = { kind: 'admitting' };

/**
 * Whether the worker may pull one more stream. Pure. In `fixed` mode only the cap counts.
 * Measured: the CPU projected with the settling streams and the next one at their expected cost,
 * the event loop and the breach rate must all be below their limits, and the worker must not be
 * degraded (it is shedding work already; a new stream would undo that).
 */
export function decideAdmission(input: AdmissionInput, o: AdmitThresholds): AdmissionState {
  if (input.held >= input.maxStreams) return full('cap');
  if (input.mode === 'fixed') return ADMITTING;
  // With nothing held, nothing the worker measures is the cost of its streams (and an idle
  // worker that refuses every stream would never learn otherwise): one stream is always let in.
  if (input.held === 0) return ADMITTING;
  if (input.degradationLevel > 0) return full('degraded');
  const limit = (reason: FullReason, value: number): number =>
    input.previous.kind === 'full' && input.previous.reason === reason ? value * (1 - o.resumeMargin) : value;
  const s = input.signals;
  if (s.cpu !== undefined && s.cpu + (input.settling + 1) * input.streamCpu >= limit('cpu', o.cpuBelow)) return full('cpu');
  if (s.elu !== undefined && s.elu >= limit('elu', o.eluBelow)) return full('elu');
  if (s.breaches !== undefined && s.breaches >= limit('breaches', o.breachesBelow)) return full('breaches');
  return ADMITTING;
}

function full(reason: FullReason): AdmissionState {
  return { kind: 'full', reason };
}

/** The label of a state: `admitting` or the reason it is full. */
export function admissionLabel(s: AdmissionState): AdmissionLabel {
  return s.kind === 'admitting' ? 'admitting' : s.reason;
}
