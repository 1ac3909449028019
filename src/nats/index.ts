/**
 * The one NATS kit: every deployable (worker, bridge, enforcer, review, console, matcher) connects,
 * provisions, publishes, consumes and judges errors through these modules, so the delivery
 * rules are the same everywhere. Nothing here knows about streams, frames or cases.
 */
export { connectNats, watchConnection, type ConnectionWatch, type NatsConnectionSettings } from './connection.js';
export { retryVerdict, hasApiCode, isAuthOrTlsFailure, isConnectionClosed, isNoStream, type NatsFailure } from './errors.js';
export {
  ensureConsumer,
  ensureKv,
  ensureStateBucket,
  ensureStream,
  openKv,
  openObjectStore,
  type DesiredBucket,
  type DesiredConsumer,
  type DesiredStream,
  type StateBucket,
} from './provision.js';
export {
  createDurablePublisher,
  type DurablePublisher,
  type DurablePublisherDeps,
  type DurablePublisherSettings,
  type PublishableEvent,
} from './durable-publisher.js';
export type { PublishCallOptions, PublishReceipt } from './publish-types.js';
export {
  consumeEvents,
  settle,
  settlementForError,
  type EventConsumer,
  type EventConsumerDeps,
  type InvalidMessage,
  type MessageMeta,
  type Parsed,
  type Settlement,
} from './event-consumer.js';
export { followStream, type Follower, type FollowerDeps } from './follower.js';
export { getVerified, putVerified, sha256Hex, type VerifiedObject } from './objects.js';
