export * from './common.js';
export * from './subjects.js';
export * from './stream-events.js';
export * from './screening-events.js';
export * from './drafts.js';
export * from './enforcement.js';
export * from './catalog.js';
