export { decide, type PolicyResult } from './decide.js';
export { INITIAL_POLICY_STATE, type Decision, type FrameAnalysis, type PolicyState } from './types.js';
export { explicitScore, faceGate, type SignalsBeforeFaces } from './face-gate.js';
