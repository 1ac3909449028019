import { KV_BUCKETS, SUBJECTS } from './subjects.js';

/**
 * JetStream streams shared by two deployables (the worker publishes, the console reads, or the
 * other way round). Whoever starts first creates them with these settings (idempotent
 * ensureStream); both sides build them from here so neither "corrects" the other's settings.
 * Retention is limits-based: nobody's consumer deletes what another still needs.
 */
export interface SharedStreamSpec {
  readonly name: string;
  readonly subjects: readonly string[];
  /** Retention in milliseconds. */
  readonly maxAgeMs: number;
  /** JetStream dedupe window for Nats-Msg-Id. */
  readonly duplicateWindowMs: number;
}

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

export interface SharedStreamPrefixes {
  readonly caseOpened: string;
  readonly caseUpdated: string;
  readonly caseClosed: string;
  readonly reviewDecision: string;
  readonly reviewAck: string;
  readonly audit: string;
}

export const DEFAULT_SHARED_PREFIXES: SharedStreamPrefixes = {
  caseOpened: SUBJECTS.caseOpened,
  caseUpdated: SUBJECTS.caseUpdated,
  caseClosed: SUBJECTS.caseClosed,
  reviewDecision: SUBJECTS.reviewDecision,
  reviewAck: SUBJECTS.reviewAck,
  audit: SUBJECTS.audit,
};

export function sharedStreams(p: SharedStreamPrefixes = DEFAULT_SHARED_PREFIXES): {
  readonly cases: SharedStreamSpec;
  readonly review: SharedStreamSpec;
  readonly audit: SharedStreamSpec;
} {
  return {
    // A console rebuilds its queue by replaying this stream; 7 days covers any live stream's cases.
    cases: {
      name: 'SCREENING_CASES',
      subjects: [`${p.caseOpened}.*`, `${p.caseUpdated}.*`, `${p.caseClosed}.*`],
      maxAgeMs: 7 * DAY,
      duplicateWindowMs: HOUR,
    },
    // Decisions and acks: long enough for a worker that was down to apply what waited for it.
    review: {
      name: 'SCREENING_REVIEW',
      subjects: [`${p.reviewDecision}.*`, `${p.reviewAck}.*`],
      maxAgeMs: 30 * DAY,
      duplicateWindowMs: HOUR,
    },
    // Audit outlives the one-year preservation of the evidence it speaks about (18 U.S.C. 2258A(h)).
    audit: {
      name: 'SCREENING_AUDIT',
      subjects: [p.audit],
      maxAgeMs: 400 * DAY,
      duplicateWindowMs: HOUR,
    },
  };
}

/** A KV bucket two deployables share; both create it from here (idempotent ensureKv). */
export interface SharedBucketSpec {
  readonly name: string;
  /** Entry lifetime in ms; absent: entries stay until deleted. */
  readonly ttlMs?: number;
  readonly description: string;
}

/**
 * The bridge writes publisher records and reads blocks; the enforcer reads the records and writes
 * blocks. History 1 in both: the audit stream, not the bucket, keeps what happened.
 */
export function sharedBuckets(recordTtlMs: number): { readonly publishers: SharedBucketSpec; readonly blocks: SharedBucketSpec } {
  return {
    publishers: { name: KV_BUCKETS.publishers, ttlMs: recordTtlMs, description: 'streamscreen: who publishes each stream' },
    // No TTL: a block carries its own expiry, which may be "never" (hash-list kills).
    blocks: { name: KV_BUCKETS.blocks, description: 'streamscreen: publishers denied re-publish' },
  };
}
