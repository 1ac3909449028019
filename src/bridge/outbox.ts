import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** One publish, exactly as it will be sent: replays send the stored bytes with the stored Nats-Msg-Id. */
export interface OutboxEntry {
  readonly subject: string;
  readonly type: string;
  readonly eventId: string;
  readonly payload: string;
  /** The stream the entry is about: later entries for it wait behind this one. */
  readonly streamId: string;
}

export interface DrainResult {
  readonly left: number;
  readonly error?: unknown;
}

export interface Outbox {
  /** Stores one hook's publishes, in order, durably (fsync'd) before resolving. */
  append(entries: readonly OutboxEntry[]): Promise<void>;
  /** Streams with entries waiting: their next events must queue behind them to keep order. */
  holds(streamId: string): boolean;
  readonly size: number;
  /**
   * Sends the waiting batches oldest first; a batch is removed once every entry is sent. Stops at
   * the first failure (NATS still away) and resolves with how many batches are left, and why.
   */
  drain(send: (entry: OutboxEntry) => Promise<void>): Promise<DrainResult>;
}

/**
 * A directory of numbered JSON files, one per hook call: written to a temporary name, fsync'd
 * and renamed, so a crash leaves either the whole batch or none of it, and the order survives a
 * restart. Hand-written rather than a queue library: it is only ever used while NATS is down,
 * holds a few entries, and must not add a second broker to the deployment.
 */
export async function openFileOutbox(dir: string): Promise<Outbox> {
  await mkdir(dir, { recursive: true });
  const batches: Array<{ file: string; entries: readonly OutboxEntry[] }> = [];
  for (const name of (await readdir(dir)).filter((f) => /^\d{16}\.json$/.test(f)).sort()) {
    batches.push({ file: name, entries: JSON.parse(await readFile(join(dir, name), 'utf8')) as OutboxEntry[] });
  }
  let seq = batches.length ? Number(batches.at(-1)!.file.slice(0, 16)) : 0;
  let draining: Promise<DrainResult> | undefined;

  const waiting = (): Map<string, number> => {
    const m = new Map<string, number>();
    for (const b of batches) for (const e of b.entries) m.set(e.streamId, (m.get(e.streamId) ?? 0) + 1);
    return m;
  };
  let held = waiting();

  const drainOnce = async (send: (entry: OutboxEntry) => Promise<void>): Promise<DrainResult> => {
    while (batches.length) {
      const batch = batches[0]!;
      // Already-sent entries of a half-sent batch are sent again: their Nats-Msg-Id dedupes them.
      for (const e of batch.entries) await send(e);
      await unlink(join(dir, batch.file)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      batches.shift();
      held = waiting();
    }
    return { left: 0 };
  };

  return {
    get size() {
      return batches.length;
    },
    holds: (streamId) => held.has(streamId),
    async append(entries) {
      if (!entries.length) return;
      const file = `${String(++seq).padStart(16, '0')}.json`;
      const tmp = join(dir, `.${file}.tmp`);
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(JSON.stringify(entries));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, join(dir, file));
      const d = await open(dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
      batches.push({ file, entries });
      held = waiting();
    },
    drain(send) {
      // One drain at a time: two would send a batch twice and race on its unlink.
      draining ??= drainOnce(send)
        .catch((error: unknown) => ({ left: batches.length, error }))
        .finally(() => {
          draining = undefined;
        });
      return draining;
    },
  };
}
