import { z } from 'zod';
import { MAX_START_EVENT_BYTES, SUBJECTS } from '../../contracts/index.js';
import { jetStreamName, natsSubject, positiveMs } from '../fields.js';

/** Timings that must be at least a second (each field says why). */
const atLeastOneSecond = (def: number) => z.number().int().min(1000).default(def);

/**
 * Intake (config section `ingest`). All workers of one deployment must share the stream,
 * consumer and bucket names and the timings: the consumer's ack_wait and the bucket's TTL are
 * server-side and apply to all.
 *
 * Takeover budget (a dead worker's streams are taken over within 10 s). A worker that dies at t0
 * last called working() and renewed its lease at >= t0 - heartbeat. The server redelivers the
 * start message at <= t0 + ackWaitMs and expires the lease entry (bucket max_age) at
 * <= t0 + leaseTtlMs. A worker that gets the redelivery while the lease still exists naks it with
 * a delay of the lease's remaining life (+250 ms), so the takeover completes at about
 * t0 + max(ackWaitMs, leaseTtlMs) + 250 ms + one pull round trip: ~6.3 s with the defaults,
 * leaving room for a loaded server.
 */
export const IngestSection = z
  .strictObject({
    /** Work-queue stream of start events. */
    startsStream: jetStreamName('SCREENING_STARTS'),
    /** The stream id is the last token. */
    startsSubjectPrefix: natsSubject(SUBJECTS.streamStarted),
    /** Limits stream of end events. */
    endsStream: jetStreamName('SCREENING_ENDS'),
    endsSubjectPrefix: natsSubject(SUBJECTS.streamEnded),
    /** How long an end is remembered, so a late or redelivered start is recognised as ended: a day. */
    endsMaxAgeMs: positiveMs(24 * 60 * 60 * 1000),
    /** Shared durable pull consumer on the starts stream. */
    consumerName: jetStreamName('screeners'),
    /** KV bucket of per-stream leases. */
    leaseBucket: jetStreamName('screening-leases'),
    /**
     * A dead worker's stream is redelivered after ack_wait; the lease TTL lets the new worker take
     * the lease over. Both well under 10 s so takeover fits the 10 s promise. At least 1 s: the
     * server keeps them in whole milliseconds and below a second scheduling noise dominates.
     */
    ackWaitMs: atLeastOneSecond(4_000),
    leaseTtlMs: atLeastOneSecond(6_000),
    /**
     * How often each held stream calls working() and renews its lease. Absent:
     * min(ackWaitMs, leaseTtlMs) / 4 (1000 ms), so several tries fit in each window and one slow
     * round trip does not cost the stream.
     *
     * A holder stops screening only on evidence that another worker holds the stream (lease.ts),
     * never because NATS cannot be reached: with NATS down nobody else can take it over, and
     * giving it up would leave it unscreened. An outage longer than leaseTtlMs lets the entry
     * expire; the holder creates it again when NATS is back, unless someone else has it.
     */
    heartbeatMs: z.number().int().positive().optional(),
    /**
     * Another worker's lease is also treated as stale when its server timestamp is older than
     * leaseTtlMs + this much by our clock: a backstop in case the server's expiry lags.
     */
    clockSkewToleranceMs: z.number().int().nonnegative().default(2_000),
    /** Lifetime of one pull request; nats.js refuses less than a second. */
    pullExpiresMs: atLeastOneSecond(5_000),
    /** Consumer max_ack_pending: held streams plus delayed naks, across all workers. */
    maxAckPending: z.number().int().positive().default(20_000),
    /** nak delay after a retryable failure (lease store unreachable, screening crashed retryably). */
    retryDelayMs: positiveMs(5_000),
    /** After aborting a screening (end, shutdown, supersede), how long it may take to settle before the start is acked or released anyway. */
    abortGraceMs: positiveMs(5_000),
    /**
     * How long one delivery of an invalid start waits for its dead letter to be stored. Past it the
     * start is nak'd with a growing delay (retryDelayMs doubling per delivery, up to a minute) and
     * dead-lettered on a later delivery: never dropped, and an unwritable dead-letter stream cannot
     * hold bad input in this worker indefinitely. 10 s: two full publish attempts.
     */
    deadLetterTimeoutMs: positiveMs(10_000),
    /** Timeout for one KV / JetStream API request. */
    requestTimeoutMs: positiveMs(2_000),
    /** Create or update the streams, consumer and bucket at start. */
    provision: z.boolean().default(true),
    /**
     * A source the sampler gave up on after its retries (dropped, refused, stalled) keeps its
     * stream: the failure is reported once and the stream is screened again after a delay growing
     * from sourceProbeBaseMs to sourceProbeMaxMs, until its end event arrives. A broadcaster
     * whose connection drops comes back on the same stream id with no new start event. 5 s: a
     * quick reconnect is screened again at once; a minute at most: an abandoned stream costs one
     * ffmpeg attempt a minute.
     */
    sourceProbeBaseMs: positiveMs(5_000),
    sourceProbeMaxMs: positiveMs(60_000),
    /**
     * The give-up horizon: a source still gone this long after it went is released for good
     * (acked), in case its end event never comes. 0: probe until the end. An hour: a platform
     * whose ends are lost does not pile up probes for ever.
     */
    sourceGiveUpMs: z
      .number()
      .int()
      .nonnegative()
      .default(60 * 60 * 1000),
    /** Larger start events are dead-lettered (`too_large`) unparsed; see MAX_START_EVENT_BYTES for why. */
    maxStartEventBytes: z.number().int().positive().default(MAX_START_EVENT_BYTES),
  })
  .superRefine((o, ctx) => {
    const heartbeat = heartbeatMsFor(o);
    // Several renewals per TTL (one lost round trip must not let the entry expire), and
    // working() at least twice per ack_wait.
    if (heartbeat * 3 > o.leaseTtlMs) {
      ctx.addIssue({ code: 'custom', path: ['heartbeatMs'], message: `heartbeat (${heartbeat} ms) must be at most leaseTtlMs / 3` });
    }
    if (o.sourceProbeMaxMs < o.sourceProbeBaseMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['sourceProbeMaxMs'],
        message: `sourceProbeMaxMs (${o.sourceProbeMaxMs}) must be >= sourceProbeBaseMs (${o.sourceProbeBaseMs})`,
      });
    }
    if (heartbeat * 2 > o.ackWaitMs) {
      ctx.addIssue({ code: 'custom', path: ['heartbeatMs'], message: `heartbeat (${heartbeat} ms) must be at most ackWaitMs / 2` });
    }
  });

export type IngestSection = z.output<typeof IngestSection>;

/** What intake takes: the section with the heartbeat worked out and the worker's stream limit. */
export interface IngestOptions extends IngestSection {
  readonly heartbeatMs: number;
  /** Streams one worker screens at once (worker.maxStreams); it pulls only while below this. */
  readonly maxConcurrentStreams: number;
  /** Replicas of the streams and the bucket intake provisions (nats.replicas). */
  readonly replicas: number;
}

function heartbeatMsFor(o: Pick<IngestSection, 'heartbeatMs' | 'ackWaitMs' | 'leaseTtlMs'>): number {
  return o.heartbeatMs ?? Math.floor(Math.min(o.ackWaitMs, o.leaseTtlMs) / 4);
}

export function ingestOptions(section: IngestSection, maxStreams: number, replicas = 1): IngestOptions {
  return { ...section, heartbeatMs: heartbeatMsFor(section), maxConcurrentStreams: maxStreams, replicas };
}
