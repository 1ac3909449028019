import { ConfigError } from '../../domain/errors.js';
import { MAX_START_EVENT_BYTES } from '../../contracts/index.js';
import { withDefaults } from '../../domain/options.js';

/**
 * Ingest settings. All workers of one deployment must share the stream/consumer/bucket names
 * and timings: the consumer's ack_wait and the bucket's TTL are server-side and apply to all.
 *
 * Takeover budget (issue: a dead worker's streams are taken over within 10 s). A worker that
 * dies at t0 last called working() at >= t0 - heartbeat and last renewed its lease at
 * >= t0 - heartbeat. The server redelivers the start message at <= t0 + ackWaitMs and expires
 * the lease entry (bucket max_age) at <= t0 + leaseTtlMs. A worker that gets the redelivery
 * while the lease still exists naks it with a delay of the lease's remaining life (+250 ms),
 * so the takeover completes at about t0 + max(ackWaitMs, leaseTtlMs) + 250 ms + one pull round
 * trip: ~6.3 s with the defaults, leaving room for a loaded server.
 */
export interface IngestOptions {
  /** Work-queue stream of start events. Default `SCREENING_STARTS`. */
  readonly startsStream: string;
  /** Default `streams.started`; the stream id is the last token. */
  readonly startsSubjectPrefix: string;
  /** Limits stream of end events. Default `SCREENING_ENDS`. */
  readonly endsStream: string;
  /** Default `streams.ended`. */
  readonly endsSubjectPrefix: string;
  /** How long an end is remembered (so a late/redelivered start is recognised as ended). Default 24 h. */
  readonly endsMaxAgeMs: number;
  /** Shared durable pull consumer on the starts stream. Default `screeners`. */
  readonly consumerName: string;
  /** KV bucket of per-stream leases. Default `screening-leases`. */
  readonly leaseBucket: string;
  /** Consumer ack_wait: redelivery delay after a worker stops calling working(). Default 4000. */
  readonly ackWaitMs: number;
  /** Lease lifetime without renewal; the bucket's max_age, enforced by the server. Default 6000. */
  readonly leaseTtlMs: number;
  /**
   * How often each held stream calls working() and renews its lease. Default
   * min(ackWaitMs, leaseTtlMs) / 4 (1000 ms): several tries fit in each window, so one slow
   * round trip does not cost the stream.
   *
   * A holder gives its lease up locally (aborts the screening) when no renewal has succeeded for
   * leaseTtlMs - 2 * heartbeat since the last successful one was sent: always before the server
   * can expire it and another worker take over, so two workers never screen one stream.
   * Tolerated NATS outage with the defaults: 4 s.
   */
  readonly heartbeatMs?: number;
  /**
   * Another worker's lease is also treated as stale when its server timestamp is older than
   * leaseTtlMs + this much by our clock (a backstop in case the server's expiry lags). Default 2000.
   */
  readonly clockSkewToleranceMs: number;
  /** Streams one worker screens at once; it pulls only while below this. Default 4. */
  readonly maxConcurrentStreams: number;
  /** Lifetime of one pull request. Default 5000 (nats.js minimum 1000). */
  readonly pullExpiresMs: number;
  /** Consumer max_ack_pending (held streams plus delayed naks, across all workers). Default 20000. */
  readonly maxAckPending: number;
  /** nak delay after a retryable failure (lease store unreachable, screening crashed retryably). Default 5000. */
  readonly retryDelayMs: number;
  /**
   * After aborting a screening (end, shutdown, supersede), how long to wait for onAssignment to
   * settle before acking/releasing anyway. Default 5000.
   */
  readonly abortGraceMs: number;
  /**
   * How long one delivery of an invalid start waits for its dead letter to be stored. Past it the
   * start is nak'd with a growing delay (retryDelayMs doubling per delivery, up to a minute) and
   * dead-lettered on a later delivery: never dropped, and an unwritable dead-letter stream
   * cannot hold bad input in this worker indefinitely. Default 10000 (two full publish attempts).
   */
  readonly deadLetterTimeoutMs: number;
  /** Timeout for one KV / JetStream API request. Default 2000. */
  readonly requestTimeoutMs: number;
  /** Create/update streams, consumer and bucket in start(). Default true. */
  readonly provision: boolean;
  /**
   * Larger start events are dead-lettered (`too_large`) unparsed. Default 65536: see
   * MAX_START_EVENT_BYTES in events.ts for why.
   */
  readonly maxStartEventBytes: number;
}

export const DEFAULT_INGEST_OPTIONS: IngestOptions = {
  startsStream: 'SCREENING_STARTS',
  startsSubjectPrefix: 'streams.started',
  endsStream: 'SCREENING_ENDS',
  endsSubjectPrefix: 'streams.ended',
  endsMaxAgeMs: 24 * 60 * 60 * 1000,
  consumerName: 'screeners',
  leaseBucket: 'screening-leases',
  ackWaitMs: 4000,
  leaseTtlMs: 6000,
  clockSkewToleranceMs: 2000,
  maxConcurrentStreams: 4,
  pullExpiresMs: 5000,
  maxAckPending: 20_000,
  retryDelayMs: 5000,
  abortGraceMs: 5000,
  deadLetterTimeoutMs: 10_000,
  requestTimeoutMs: 2000,
  provision: true,
  maxStartEventBytes: MAX_START_EVENT_BYTES,
};

export interface ResolvedIngestOptions extends IngestOptions {
  readonly heartbeatMs: number;
}

export function resolveIngestOptions(partial: Partial<IngestOptions> = {}): ResolvedIngestOptions {
  const o: IngestOptions = withDefaults(DEFAULT_INGEST_OPTIONS, partial);
  const heartbeatMs = o.heartbeatMs ?? Math.floor(Math.min(o.ackWaitMs, o.leaseTtlMs) / 4);
  const issues: string[] = [];
  const positive = [
    'endsMaxAgeMs',
    'ackWaitMs',
    'leaseTtlMs',
    'maxConcurrentStreams',
    'pullExpiresMs',
    'maxAckPending',
    'retryDelayMs',
    'abortGraceMs',
    'deadLetterTimeoutMs',
    'requestTimeoutMs',
  ] as const;
  for (const key of positive) {
    if (!Number.isFinite(o[key]) || o[key] <= 0) issues.push(`${key} must be a positive number (got ${o[key]})`);
  }
  if (!Number.isInteger(o.maxConcurrentStreams)) issues.push('maxConcurrentStreams must be an integer');
  if (!(Number.isInteger(o.maxStartEventBytes) && o.maxStartEventBytes > 0)) {
    issues.push(`maxStartEventBytes must be a positive integer (got ${o.maxStartEventBytes})`);
  }
  if (!(o.clockSkewToleranceMs >= 0)) issues.push('clockSkewToleranceMs must be >= 0');
  if (o.pullExpiresMs < 1000) issues.push('pullExpiresMs must be >= 1000 (nats.js minimum)');
  // KV TTL and ack_wait are whole milliseconds on the server; below ~1 s scheduling noise dominates.
  if (o.ackWaitMs < 1000) issues.push('ackWaitMs must be >= 1000');
  if (o.leaseTtlMs < 1000) issues.push('leaseTtlMs must be >= 1000');
  if (!(heartbeatMs > 0)) issues.push('heartbeatMs must be positive');
  // The holder must notice a lost lease before the server can hand it to someone else.
  if (heartbeatMs * 3 > o.leaseTtlMs) issues.push(`heartbeatMs (${heartbeatMs}) must be at most leaseTtlMs / 3`);
  if (heartbeatMs * 2 > o.ackWaitMs) issues.push(`heartbeatMs (${heartbeatMs}) must be at most ackWaitMs / 2`);
  for (const key of ['startsSubjectPrefix', 'endsSubjectPrefix'] as const) {
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(o[key])) issues.push(`${key} must be a literal NATS subject (got "${o[key]}")`);
  }
  for (const key of ['startsStream', 'endsStream', 'consumerName', 'leaseBucket'] as const) {
    if (!/^[A-Za-z0-9_-]+$/.test(o[key])) issues.push(`${key} must be a JetStream name (got "${o[key]}")`);
  }
  if (issues.length > 0) throw new ConfigError('invalid ingest options', issues);
  return { ...o, heartbeatMs };
}
