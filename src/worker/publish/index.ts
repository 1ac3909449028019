export { createDecisionPublisher, type DecisionPublisher, type DecisionPublisherDeps } from './publisher.js';
export { provisionDecisionStreams } from './provision.js';
