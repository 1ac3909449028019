export { createDecisionPublisher, type DecisionPublisher, type DecisionPublisherDeps } from './publisher.js';
export { DEFAULT_PUBLISHER_OPTIONS, resolvePublisherOptions, type PublisherOptions } from './options.js';
export { provisionDecisionStreams } from './provision.js';
