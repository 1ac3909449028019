import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { nanos } from '@nats-io/transport-node';
import { ReviewDecisionSchema, sharedStreams, type BlockRecord, type EnforcementAction, type ReviewDecision } from '../contracts/index.js';
import type { Logger } from '../domain/logger.js';
import { ensureStream, type Parsed } from '../nats/index.js';
import { listBlocks, liftBlocks } from './block-admin.js';

/**
 * A reviewer's `dismiss` (screening.review.<streamId>) lifts the stream's blocks: the reviewer
 * found no violation. Except a permanent hash-list block: a match against known abuse material is
 * not a reviewer's call on one escalation case, and stays until an operator lifts it
 * (`streamscreen block lift`).
 */
export function liftableOnDismiss(block: BlockRecord): boolean {
  return !(block.reason === 'killswitch' && block.list !== undefined && block.expiresAt === null);
}

export async function ensureReviewStream(jsm: JetStreamManager, logger: Logger): Promise<string> {
  const spec = sharedStreams().review;
  await ensureStream(
    jsm,
    {
      name: spec.name,
      subjects: [...spec.subjects],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: nanos(spec.maxAgeMs),
      duplicate_window: nanos(spec.duplicateWindowMs),
    },
    logger,
  );
  return spec.name;
}

export function parseReviewDecision(_subject: string, data: Uint8Array): Parsed<ReviewDecision> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch (err) {
    return { ok: false, reason: 'invalid_json', issues: [(err as Error).message] };
  }
  const parsed = ReviewDecisionSchema.safeParse(value);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, reason: 'schema_invalid', issues: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
}

/** Lifts what a dismiss lifts; other decisions are not the enforcer's. Idempotent: a lifted block is gone. */
export async function applyDismiss(
  decision: ReviewDecision,
  deps: { readonly blocks: KV; readonly audit: (a: EnforcementAction) => Promise<void>; readonly logger: Logger },
): Promise<number> {
  if (decision.decision !== 'dismiss') return 0;
  const { blocks } = await listBlocks(deps.blocks);
  const forStream = blocks.map((b) => b.block).filter((b) => b.streamId === decision.streamId);
  const lift = forStream.filter(liftableOnDismiss);
  if (forStream.length > lift.length) {
    deps.logger.info(
      { streamId: decision.streamId, kept: forStream.length - lift.length },
      'review dismiss leaves permanent hash-list blocks in place (an operator lifts them)',
    );
  }
  if (!lift.length) return 0;
  return liftBlocks({
    kv: deps.blocks,
    blocks: lift,
    reason: 'review_dismissed',
    by: `reviewer:${decision.reviewer}`,
    note: `review decision ${decision.decisionId} on case ${decision.caseId}`,
    audit: deps.audit,
  });
}
