export type { DegradationView } from './degradation-view.js';
export type { InferenceOutcome, ScheduleShedReason } from './outcome.js';
export {
  createInferenceScheduler,
  type InferenceRequest,
  type InferenceScheduler,
  type InferenceSchedulerDeps,
  type InferenceSchedulerOptions,
} from './scheduler.js';
