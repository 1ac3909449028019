import type { KV } from '@nats-io/kv';
import { BlockRecordSchema, blockActive, type BlockRecord } from '../contracts/index.js';
import type { Logger } from '../domain/logger.js';
import type { BlockView } from './service.js';

export interface BlockFollower extends BlockView {
  stop(): void;
}

/**
 * Keeps every block of the bucket in memory, current through a KV watch (an ordered consumer the
 * client recreates after disconnects). The publish hook then decides without a NATS round trip,
 * and while NATS is away it still refuses what was blocked when it left. An entry that breaks the
 * contract is logged and ignored (it cannot refuse anyone, and cannot stop the others).
 */
export async function followBlocks(kv: KV, logger: Logger, loadTimeoutMs = 10_000): Promise<BlockFollower> {
  const log = logger.child({ component: 'blocks' });
  const blocks = new Map<string, BlockRecord>();
  let loaded = (await kv.status()).values === 0;
  let markLoaded: () => void = () => undefined;
  const initial = new Promise<void>((resolve) => (markLoaded = resolve));
  if (loaded) markLoaded();
  const watch = await kv.watch();
  void (async () => {
    for await (const e of watch) {
      if (e.operation === 'PUT') {
        const parsed = BlockRecordSchema.safeParse(safeJson(e.string()));
        if (parsed.success) blocks.set(e.key, parsed.data);
        else
          log.error({ key: e.key, issues: parsed.error.issues.map((i) => i.message) }, 'ignoring a block entry that breaks its contract');
      } else {
        blocks.delete(e.key);
      }
      if (!loaded && (e.isUpdate || e.delta === 0)) {
        loaded = true;
        markLoaded();
      }
    }
  })().catch((err: unknown) => log.error({ err }, 'block watch ended'));
  // Hooks are answered only once the blocks in force are known (or after loadTimeoutMs, not ready).
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([initial, new Promise<void>((resolve) => (timer = setTimeout(resolve, loadTimeoutMs)))]);
  clearTimeout(timer);
  if (!loaded) log.warn({ loadTimeoutMs }, 'blocks not loaded yet; fail-closed refuses publishes until they are');
  return {
    get loaded() {
      return loaded;
    },
    find(keys, nowMs) {
      for (const k of keys) {
        const b = blocks.get(k);
        if (b && blockActive(b, nowMs)) return b;
      }
      return undefined;
    },
    stop: () => watch.stop(),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
