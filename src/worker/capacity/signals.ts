/**
 * The load measures the governor decides from, each a share (0..1), undefined while unknown
 * (before two samples, or too few frames for a breach rate to mean anything).
 */
export interface LoadSignals {
  /**
   * CPU of the worker's process tree (itself and its ffmpeg children) over the CPUs available to
   * it, or the host's busy share when that is higher and no cgroup quota applies.
   */
  readonly cpu: number | undefined;
  /** Event-loop utilisation of the main thread. */
  readonly elu: number | undefined;
  /** Frames decided over the budget, of the frames decided in the breach window. */
  readonly breaches: number | undefined;
}

export type LoadMeasure = keyof LoadSignals;
export const LOAD_MEASURES: readonly LoadMeasure[] = ['cpu', 'elu', 'breaches'];
