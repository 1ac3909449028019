export { createIngest, defaultWorkerId, type Ingest, type IngestDeps, type IngestEvents, type StopOptions } from './ingest.js';
export type { AssignmentOutcome, IngestPublisher, ScreeningAssignment } from './active-stream.js';
export { AssignmentAbortedError, type AbortCause } from './errors.js';
export { DEFAULT_INGEST_OPTIONS, resolveIngestOptions, type IngestOptions, type ResolvedIngestOptions } from './options.js';
export { provisionIngest, ensureLeaseBucket, type DesiredStream, type EnsureStream } from './provision.js';
export { parseEndEvent, parseStartEvent, streamIdFromSubject, type DeadLetterReason, type ParseResult } from './events.js';
export { buildDeadLetter, encodePayload } from './dead-letter.js';
export { LeaseStore, type LeaseValue } from './lease.js';
