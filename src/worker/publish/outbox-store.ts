import { mkdir, open, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../domain/logger.js';

/** One decision waiting for JetStream, exactly as it will be sent (same subject, id and bytes on every replay). */
export interface OutboxRecord {
  readonly subject: string;
  readonly type: string;
  /** Also the Nats-Msg-Id: a replay the server already stored is dropped as a duplicate. */
  readonly eventId: string;
  /** The serialised event. */
  readonly payload: string;
  /** Epoch ms it was recorded. */
  readonly recordedAt: number;
}

/** A record with where it is kept: `file` absent means in memory only (outbox full, or the disk refused it). */
export interface StoredRecord extends OutboxRecord {
  /** Order of recording (per slot). */
  readonly seq: number;
  readonly bytes: number;
  readonly file?: string;
  /** Found on disk at start: a decision of an earlier process, or of this one before a restart. */
  readonly replayed?: boolean;
}

export interface OutboxStore {
  /** Where this process writes (for logs). */
  readonly slotDir: string;
  /**
   * Claims a slot of its own, and every orphaned slot (its process gone) that still holds
   * records, and returns all their records, oldest first.
   */
  open(): Promise<StoredRecord[]>;
  /**
   * Claims the slots of processes that have died since (their records, oldest first): a worker
   * sharing the directory with one that was SIGKILLed publishes what it left, without a restart.
   */
  adoptOrphans(): Promise<StoredRecord[]>;
  /** Durable once resolved: written to a temporary file, fsynced, renamed into place, the directory fsynced. */
  write(record: OutboxRecord): Promise<StoredRecord>;
  /** The record is stored by JetStream: forget it (no fsync: a replay after a crash is deduplicated). */
  remove(record: StoredRecord): Promise<void>;
  /** JetStream refuses it for good: move it aside (`rejected/`) with the reason, for an operator. */
  reject(record: StoredRecord, reason: string): Promise<void>;
  /** Releases the slot locks; records still pending stay on disk for the next process. */
  close(): Promise<void>;
}

export interface OutboxStoreOptions {
  /** Root directory; slots are `slot-<n>` below it. */
  readonly dir: string;
  /** fsync files and the directory before a record counts as written. Off only where durability does not matter (benchmarks). */
  readonly fsync: boolean;
  readonly logger: Logger;
}

/** More processes than this sharing one outbox directory is a misconfiguration. */
const MAX_SLOTS = 64;
const RECORD_FILE = /^(\d{16})\.json$/;

/** Slots claimed by this process: a second worker in the same process must not take them as stale. */
const claimedHere = new Set<string>();

/**
 * The outbox on disk: one file per decision in a slot directory, so a record is written (and
 * fsynced) in one step, removed in one step, and a crash can leave at most a temporary file
 * behind, never a torn record. Several processes may share the root (two workers on one host):
 * each claims a slot with a lock file naming its pid, and a process that starts takes over the
 * slots of processes that are gone, so decisions a SIGKILLed worker left behind are published by
 * whichever worker starts next there. A dead process's lock is recognised by its pid (a pid
 * equal to ours is a previous life of this container, where pids repeat).
 */
export function createOutboxStore(o: OutboxStoreOptions): OutboxStore {
  const log = o.logger.child({ component: 'outbox' });
  const owned: string[] = [];
  let slotDir = '';
  let nextSeq = 1;

  const lockOf = (dir: string): string => join(dir, 'lock');

  const tryLock = async (dir: string): Promise<boolean> => {
    if (claimedHere.has(dir)) return false;
    await mkdir(dir, { recursive: true });
    const mine = JSON.stringify({ pid: process.pid, at: new Date().toISOString() });
    try {
      await writeFile(lockOf(dir), mine, { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = await readLock(lockOf(dir));
      if (holder !== undefined && holder !== process.pid && alive(holder)) return false;
      // Stale: replace it in one rename; if another process does the same, the last rename wins and the loser sees it.
      const tmp = `${lockOf(dir)}.${process.pid}`;
      await writeFile(tmp, mine);
      await rename(tmp, lockOf(dir));
      if ((await readLock(lockOf(dir))) !== process.pid) return false;
    }
    claimedHere.add(dir);
    owned.push(dir);
    return true;
  };

  const readSlot = async (dir: string): Promise<StoredRecord[]> => {
    const out: StoredRecord[] = [];
    for (const name of (await readdir(dir)).sort()) {
      if (name.endsWith('.tmp')) {
        // A write that never finished: it was never reported as recorded.
        await rm(join(dir, name), { force: true });
        continue;
      }
      const m = RECORD_FILE.exec(name);
      if (!m) continue;
      const file = join(dir, name);
      const text = await readFile(file, 'utf8');
      const rec = parseRecord(text);
      if (!rec) {
        log.error({ file }, 'unreadable outbox record: moved aside');
        await moveAside(file, 'unreadable');
        continue;
      }
      out.push({ ...rec, seq: Number(m[1]), bytes: Buffer.byteLength(text), file, replayed: true });
    }
    return out;
  };

  const moveAside = async (file: string, reason: string): Promise<void> => {
    const dir = join(o.dir, 'rejected');
    await mkdir(dir, { recursive: true });
    const base = file.split('/').pop()!;
    await rename(file, join(dir, `${Date.now()}-${base}`));
    await writeFile(join(dir, `${Date.now()}-${base}.reason`), `${reason}\n`);
  };

  const slots = async (): Promise<string[]> =>
    (await readdir(o.dir).catch(() => [] as string[])).filter((n) => /^slot-\d+$/.test(n)).sort((a, b) => slotNo(a) - slotNo(b));

  /** Slots with records and no live owner: their decisions are ours to deliver now. */
  const adopt = async (names: readonly string[]): Promise<StoredRecord[]> => {
    const records: StoredRecord[] = [];
    for (const name of names) {
      const dir = join(o.dir, name);
      if (owned.includes(dir)) continue;
      const pending = (await readdir(dir).catch(() => [] as string[])).some((f) => RECORD_FILE.test(f));
      if (!pending || !(await tryLock(dir))) continue;
      const found = await readSlot(dir);
      log.warn({ slot: dir, records: found.length }, 'took over an orphaned outbox slot');
      records.push(...found);
    }
    return records.sort((a, b) => a.recordedAt - b.recordedAt || a.seq - b.seq);
  };

  return {
    get slotDir() {
      return slotDir;
    },
    async open() {
      if (slotDir) throw new Error(`outbox store at ${o.dir} is already open`);
      await mkdir(o.dir, { recursive: true });
      const existing = await slots();
      const records: StoredRecord[] = [];
      for (let n = 0; n < MAX_SLOTS && !slotDir; n++) {
        const dir = join(o.dir, `slot-${n}`);
        if (await tryLock(dir)) slotDir = dir;
      }
      if (!slotDir) throw new Error(`no free outbox slot in ${o.dir}: ${MAX_SLOTS} live processes share it`);
      records.push(...(await readSlot(slotDir)));
      records.push(...(await adopt(existing)));
      nextSeq = records.filter((r) => r.file?.startsWith(`${slotDir}/`)).reduce((max, r) => Math.max(max, r.seq + 1), 1);
      return records.sort((a, b) => a.recordedAt - b.recordedAt || a.seq - b.seq);
    },
    async adoptOrphans() {
      if (!slotDir) return [];
      return adopt(await slots());
    },
    async write(record) {
      const seq = nextSeq++;
      const text = JSON.stringify({ v: 1, ...record });
      const name = `${String(seq).padStart(16, '0')}.json`;
      const file = join(slotDir, name);
      const tmp = join(slotDir, `.${name}.tmp`);
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(text);
        if (o.fsync) await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
      if (o.fsync) await syncDir(slotDir);
      return { ...record, seq, bytes: Buffer.byteLength(text), file };
    },
    async remove(record) {
      if (record.file)
        await unlink(record.file).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
    },
    async reject(record, reason) {
      if (record.file) await moveAside(record.file, reason);
    },
    async close() {
      for (const dir of owned.splice(0)) {
        claimedHere.delete(dir);
        await rm(lockOf(dir), { force: true }).catch(() => undefined);
      }
    },
  };
}

function slotNo(name: string): number {
  return Number(name.slice('slot-'.length));
}

async function readLock(file: string): Promise<number | undefined> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as { pid?: unknown };
    return typeof v.pid === 'number' ? v.pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function parseRecord(text: string): OutboxRecord | undefined {
  try {
    const v = JSON.parse(text) as Partial<OutboxRecord>;
    if (typeof v.subject !== 'string' || typeof v.type !== 'string' || typeof v.eventId !== 'string' || typeof v.payload !== 'string') {
      return undefined;
    }
    return { subject: v.subject, type: v.type, eventId: v.eventId, payload: v.payload, recordedAt: Number(v.recordedAt) || 0 };
  } catch {
    return undefined;
  }
}
