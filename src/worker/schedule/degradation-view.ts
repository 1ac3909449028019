/**
 * What the inference scheduler reads from the worker's overload governor (graceful degradation,
 * src/worker/capacity/): a view, read at every dispatch, never a command. While
 * `classifiersOffForLowRisk` is true the frames of the lowest-risk streams skip the classifiers
 * (shed `degraded_low_risk`); the hash check is never affected.
 */
export interface DegradationView {
  readonly classifiersOffForLowRisk: boolean;
}
