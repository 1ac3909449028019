import type { KV } from '@nats-io/kv';
import { BlockRecordSchema, blockActive, type BlockRecord, type EnforcementAction } from '../contracts/index.js';
import { auditRecord } from './audit.js';

export interface ListedBlock {
  readonly block: BlockRecord;
  readonly active: boolean;
}

/** Every block in the bucket (entries that break the contract are skipped and counted). */
export async function listBlocks(kv: KV, nowMs = Date.now()): Promise<{ blocks: ListedBlock[]; unreadable: string[] }> {
  const blocks: ListedBlock[] = [];
  const unreadable: string[] = [];
  for await (const key of await kv.keys()) {
    const e = await kv.get(key);
    if (!e || e.operation !== 'PUT') continue;
    const parsed = BlockRecordSchema.safeParse(safe(() => e.json()));
    if (parsed.success) blocks.push({ block: parsed.data, active: blockActive(parsed.data, nowMs) });
    else unreadable.push(key);
  }
  blocks.sort((a, b) => a.block.createdAt.localeCompare(b.block.createdAt));
  return { blocks, unreadable };
}

export interface LiftRequest {
  readonly kv: KV;
  readonly blocks: readonly BlockRecord[];
  readonly reason: 'operator' | 'expired' | 'review_dismissed';
  readonly by: string;
  readonly note?: string;
  /** Durable audit publish; resolves once stored. */
  audit(action: EnforcementAction): Promise<void>;
  readonly now?: () => number;
}

/**
 * Lifts blocks: each is deleted from the bucket and the lift is audited, per stream. The delete
 * is the lift: the bridge's follower drops the block at once, so the publisher may publish again.
 */
export async function liftBlocks(r: LiftRequest): Promise<number> {
  const now = r.now ?? Date.now;
  const byStream = new Map<string, BlockRecord[]>();
  for (const b of r.blocks) byStream.set(b.streamId, [...(byStream.get(b.streamId) ?? []), b]);
  for (const [streamId, blocks] of byStream) {
    for (const b of blocks) await r.kv.delete(b.key);
    const keys = blocks.map((b) => b.key).sort();
    await r.audit(
      auditRecord(
        {
          streamId,
          action: 'unblock',
          reason: r.reason,
          ...(blocks[0]!.killSwitchEventId ? { killSwitchEventId: blocks[0]!.killSwitchEventId } : {}),
          blockKeys: keys,
          result: 'done',
          attempt: 1,
          willRetry: false,
          ...(r.note ? { detail: r.note.slice(0, 2000) } : {}),
          by: r.by,
        },
        new Date(now()),
      ),
    );
  }
  return r.blocks.length;
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
