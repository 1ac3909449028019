export { createDecisionPublisher, type DecisionPublisher, type DecisionPublisherDeps } from './publisher.js';
export type { PublishCallOptions, PublishReceipt } from './receipt.js';
export { provisionDecisionStreams } from './provision.js';
export { ensureStream, type DesiredStream } from './ensure-stream.js';
