export { createIngest, defaultWorkerId, type Ingest, type IngestDeps, type IngestHealth, type StopOptions } from './ingest.js';
export type { IngestPublisher, ScreeningAssignment } from './held-stream.js';
export { admission, type Admission, type AdmissionInput } from './admission.js';
export { finishFor, settle, settleUnreported, type Disposal, type Finish, type Settlement } from './settlement.js';
export { AssignmentAbortedError, type AbortCause } from './errors.js';
export { provisionIngest, ensureLeaseBucket } from './provision.js';
export { parseEndEvent, parseStartEvent, streamIdFromSubject, type DeadLetterReason, type ParseResult } from './parse-events.js';
export { buildDeadLetter, encodePayload, MAX_DEAD_LETTER_PAYLOAD_BYTES } from './dead-letter.js';
export { LeaseStore, type LeaseValue } from './lease.js';
