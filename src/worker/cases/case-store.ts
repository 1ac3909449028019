import { JetStreamApiCodes, type JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import {
  CaseClosureSchema,
  CasePolicySchema,
  CaseReasonSchema,
  EscalationPrioritySchema,
  EvidenceFrameSchema,
  FrameRefSchema,
} from '../../contracts/index.js';
import type { ReviewOptions } from '../../config/index.js';
import { EMPTY_STREAM_CASES, type StreamCases } from '../../domain/cases.js';
import type { CaseStateStore } from '../../domain/ports.js';
import { ensureKv, hasApiCode, openKv } from '../../nats/index.js';
import { mergeStreamCases } from '../policy/index.js';

/**
 * What an entry holds. Read back through this schema: an entry another version wrote, or a
 * damaged one, is treated as empty (logged by the caller) rather than trusted.
 */
const StoredCasesSchema = z.object({
  v: z.literal(1),
  cases: z.array(
    z.object({
      caseId: z.string(),
      streamId: z.string(),
      reasonClass: z.string(),
      revision: z.number().int().min(1),
      state: z.enum(['open', 'closed']),
      priority: EscalationPrioritySchema,
      reasons: z.array(CaseReasonSchema),
      policy: CasePolicySchema,
      openedAt: z.string(),
      updatedAt: z.string(),
      frame: FrameRefSchema.optional(),
      storyboard: z.array(EvidenceFrameSchema),
      pdqHash: z.string().optional(),
      killSwitch: z
        .object({ eventId: z.string(), at: z.string(), reason: z.enum(['hash_match', 'review_confirmed', 'fail_closed']) })
        .optional(),
      metadata: z.record(z.string(), z.unknown()).optional(),
      workerId: z.string(),
      shadow: z.boolean().optional(),
      closure: CaseClosureSchema.optional(),
      publishedAt: z.number(),
    }),
  ),
  suppressed: z.record(z.string(), z.object({ until: z.number(), priority: EscalationPrioritySchema })),
  applied: z.record(
    z.string(),
    z.object({
      result: z.enum(['applied', 'duplicate', 'rejected']),
      detail: z.string().optional(),
      at: z.number(),
      killSwitchEventId: z.string().optional(),
      listVersion: z.string().optional(),
    }),
  ),
});

export interface KvCaseStore extends CaseStateStore {
  /** The bucket itself (add-to-list keeps its list locks beside the cases). */
  readonly kv: KV;
  /**
   * Read-modify-write by compare-and-swap, retried on conflict with the entry as it is then: how
   * a decision for a stream no worker holds is applied exactly once against the latest state.
   */
  update<T>(streamId: string, fn: (current: StreamCases) => Promise<{ next: StreamCases; value: T }>): Promise<T>;
}

/** Conflicts retried before giving up (the caller naks and tries again later). */
const MAX_CAS_ATTEMPTS = 10;

/**
 * Per-stream case state in its own KV bucket (review.casesBucket), keyed by stream id: open
 * cases, suppressions and applied decisions, so a worker taking a stream over continues its
 * cases, and a decision for a stream that ended still finds its case. Every write is a CAS on
 * the revision last read; a conflict (another writer in between) is merged (policy/merge.ts).
 */
export function createKvCaseStore(kv: KV): KvCaseStore {
  const revisions = new Map<string, number>();

  const read = async (streamId: string): Promise<{ cases: StreamCases; revision: number }> => {
    const entry = await kv.get(streamId);
    if (!entry || entry.operation !== 'PUT') return { cases: EMPTY_STREAM_CASES, revision: entry?.revision ?? 0 };
    const parsed = StoredCasesSchema.safeParse(safeJson(entry.string()));
    return { cases: parsed.success ? parsed.data : EMPTY_STREAM_CASES, revision: entry.revision };
  };

  const write = async (streamId: string, cases: StreamCases, revision: number): Promise<number> => {
    const body = JSON.stringify({ v: 1, cases: cases.cases, suppressed: cases.suppressed, applied: cases.applied });
    // revision 0: no entry (or only a delete marker) was there when we read.
    return revision === 0 ? kv.create(streamId, body) : kv.update(streamId, body, revision);
  };

  return {
    kv,
    async load(streamId) {
      const r = await read(streamId);
      revisions.set(streamId, r.revision);
      return r.cases;
    },
    async save(streamId, cases) {
      let mine = cases;
      for (let attempt = 1; ; attempt++) {
        try {
          revisions.set(streamId, await write(streamId, mine, revisions.get(streamId) ?? 0));
          return mine;
        } catch (err) {
          if (!isConflict(err) || attempt >= MAX_CAS_ATTEMPTS) throw err;
          const theirs = await read(streamId);
          revisions.set(streamId, theirs.revision);
          mine = mergeStreamCases(mine, theirs.cases);
        }
      }
    },
    async update(streamId, fn) {
      for (let attempt = 1; ; attempt++) {
        const current = await read(streamId);
        const { next, value } = await fn(current.cases);
        try {
          revisions.set(streamId, await write(streamId, next, current.revision));
          return value;
        } catch (err) {
          if (!isConflict(err) || attempt >= MAX_CAS_ATTEMPTS) throw err;
        }
      }
    },
  };
}

export async function openCaseStore(js: JetStreamClient, o: ReviewOptions): Promise<KvCaseStore> {
  const kv = o.provision ? await ensureKv(js, { name: o.casesBucket, ttl: o.casesTtlMs, history: 1 }) : await openKv(js, o.casesBucket);
  return createKvCaseStore(kv);
}

function isConflict(err: unknown): boolean {
  // update() on a changed entry and create() on an existing one both fail on the expected last sequence: a lost race.
  return hasApiCode(err, JetStreamApiCodes.StreamWrongLastSequence) || hasApiCode(err, JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
