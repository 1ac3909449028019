import type { KV } from '@nats-io/kv';
import type { Logger } from '../../domain/logger.js';

/**
 * A small JSON value per stream id in KV, for state a new holder of the stream must see (the
 * policy's cooldowns). Reads are bounded and writes never block the caller: screening does not
 * wait for NATS. With NATS away the last write is kept and sent when a later one succeeds.
 */
export interface StreamMemory<T> {
  /** The stored value, or undefined when there is none, it does not parse, or it cannot be read in time. */
  load(streamId: string): Promise<T | undefined>;
  /** Stores the value in the background; of several pending writes per stream only the latest is sent. */
  save(streamId: string, value: T): void;
}

export interface StreamMemoryDeps<T> {
  readonly kv: KV;
  readonly logger: Logger;
  /** Validates what was read (another version may have written it); undefined refuses it. */
  readonly parse: (value: unknown) => T | undefined;
  /** How long load() waits before the caller goes on without the state. */
  readonly readTimeoutMs: number;
}

export function createStreamMemory<T>(deps: StreamMemoryDeps<T>): StreamMemory<T> {
  const log = deps.logger.child({ component: 'stream-memory' });
  const pending = new Map<string, T>();
  const writing = new Set<string>();

  const write = async (streamId: string): Promise<void> => {
    writing.add(streamId);
    try {
      for (let value = pending.get(streamId); value !== undefined; value = pending.get(streamId)) {
        pending.delete(streamId);
        try {
          await deps.kv.put(streamId, JSON.stringify(value));
        } catch (err) {
          // Keep it for the next save, unless a newer value arrived meanwhile.
          if (!pending.has(streamId)) pending.set(streamId, value);
          log.warn({ err, streamId }, 'could not store policy state; kept for the next write');
          return;
        }
      }
    } finally {
      writing.delete(streamId);
    }
  };

  return {
    async load(streamId) {
      let timer: NodeJS.Timeout | undefined;
      try {
        const entry = await Promise.race([
          deps.kv.get(streamId),
          new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), deps.readTimeoutMs))),
        ]);
        if (entry === 'timeout') {
          log.warn({ streamId }, 'policy state not read in time: starting without it');
          return undefined;
        }
        if (!entry || entry.operation !== 'PUT') return undefined;
        const value = deps.parse(entry.json<unknown>());
        if (value === undefined) log.warn({ streamId }, 'stored policy state does not parse: ignored');
        return value;
      } catch (err) {
        log.warn({ err, streamId }, 'could not read policy state: starting without it');
        return undefined;
      } finally {
        clearTimeout(timer);
      }
    },
    save(streamId, value) {
      pending.set(streamId, value);
      if (!writing.has(streamId)) void write(streamId);
    },
  };
}
