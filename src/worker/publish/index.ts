export { createDecisionPublisher, type DecisionEvent, type DecisionPublisher, type DecisionPublisherDeps } from './publisher.js';
export { ensurePolicyStateBucket, provisionDecisionStreams } from './provision.js';
export { createOutbox, type Outbox, type OutboxDeps, type OutboxHealth, type OutboxLimits, type RecordPublisher } from './outbox.js';
export { createOutboxStore, type OutboxRecord, type OutboxStore, type OutboxStoreOptions, type StoredRecord } from './outbox-store.js';
export { createDecisionRecorder, type DecisionRecorder } from './recorder.js';
export { createStreamMemory, type StreamMemory, type StreamMemoryDeps } from './stream-memory.js';
