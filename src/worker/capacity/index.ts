export { createCapacityGovernor, type CapacityGovernor, type CapacitySnapshot, type DegradationView } from './governor.js';
export { procCpuSource, type CpuSource } from './host-cpu.js';
export { admissionLabel, type AdmissionState, type FullReason } from './admission-policy.js';
export type { DegradationLevel } from './degradation-policy.js';
