export { decide } from './decide.js';
export { unclassified, unscreened, type Unscreenable } from './fail-safe.js';
export { streamEnded } from './lifecycle.js';
export { applyReview, recordListVersion, rejectDecision, stateOf, type ReviewOutcome } from './review.js';
export { attachEvidence } from './evidence.js';
export { mergeStreamCases } from './merge.js';
export { caseById, openCaseOf } from './cases.js';
export { HASH_MATCH_CLASS, UNSCREENED_CLASS, classifierClass } from './rules.js';
export {
  INITIAL_POLICY_STATE,
  type CaseEffect,
  type CooldownState,
  type Effect,
  type FrameAnalysis,
  type KillSwitchEffect,
  type PolicyContext,
  type PolicyResult,
  type PolicyState,
} from './types.js';
export { explicitScore, faceGate, type SignalsBeforeFaces } from './face-gate.js';
