import type { ObjectInfo, ObjectStore } from '@nats-io/obj';
import { silentHooks, type Emitter } from '../domain/hooks.js';
import type { NatsConnection } from '@nats-io/transport-node';
import { HashListError, errorCode, type ErrorCode } from '../domain/errors.js';
import type { HashListSyncOptions as SyncOptions } from '../config/index.js';
import type { Logger } from '../domain/logger.js';
import type { IndexOptions } from './hash-index.js';
import type { LoadedList } from './hash-list.js';
import type { HashListSource } from './hash-matcher.js';
import {
  decodeListMetadata,
  downloadHashList,
  openHashListBucket,
  type DownloadedList,
  type PublishedListMeta,
} from './object-store-lists.js';

/** hash.objectStore of the config, resolved at load, and how downloaded lists are indexed (hash-index.ts). */
export interface HashListSyncOptions extends SyncOptions {
  readonly index?: IndexOptions;
}

/** What the sync reports: every load, removal, refusal and retry. */
export type HashListSyncEvent =
  | { readonly type: 'loaded'; readonly id: string; readonly count: number; readonly sha256: string; readonly ms: number }
  | { readonly type: 'removed'; readonly id: string }
  | { readonly type: 'refused'; readonly id: string; readonly error: HashListError }
  | { readonly type: 'retrying'; readonly id: string; readonly error: Error; readonly delayMs: number };

/** The events the sync emits (a deployable's event map includes them). */
export interface HashListSyncEvents {
  'hashlist.sync': HashListSyncEvent;
}

export interface HashListSyncDeps {
  readonly nc: NatsConnection;
  /** From `matcher.source('nats')`. */
  readonly sink: HashListSource;
  readonly logger?: Logger;
  /** Every load, removal, refusal and retry (`hashlist.sync`). */
  readonly events?: Emitter<HashListSyncEvents>;
}

export interface ListSyncStatus {
  readonly id: string;
  /** The version serving now (absent if none has loaded). */
  readonly serving?: { readonly sha256: string; readonly count: number; readonly nuid: string; readonly loadedAt: string };
  /** The last refusal for this list, cleared when a version loads. */
  readonly lastError?: { readonly code: ErrorCode; readonly message: string; readonly at: string; readonly nuid: string };
}

export interface HashListSync {
  /**
   * True once the bucket's lists present at start have each been loaded, refused (bad
   * content: see status()), or, after a transport failure, put on retry in the background.
   */
  readonly ready: boolean;
  /** Opens the bucket, starts watching, loads what is there; resolves after that first pass. */
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): ListSyncStatus[];
  /** Re-lists the bucket now and fetches whatever differs from what is serving. */
  resync(): Promise<void>;
}

type Change = { readonly put?: LoadedList; readonly remove?: string };

interface Serving {
  readonly list: LoadedList;
  readonly nuid: string;
  readonly meta: PublishedListMeta;
}

/**
 * Keeps the matcher's `nats` lists equal to the Object Store bucket. Each worker watches the
 * bucket; a new version is downloaded, its SHA-256 computed over the bytes received and
 * compared with the publisher's, parsed (any bad line refuses the whole version), indexed
 * aside and swapped in. A refused version is logged and reported while the previous one keeps
 * serving; a deleted object removes the list. Work is serialised and coalesced per list: if
 * three versions arrive during one download only the newest is fetched next.
 */
export function createHashListSync(deps: HashListSyncDeps & HashListSyncOptions): HashListSync {
  const { nc, sink, logger } = deps;
  const events = deps.events ?? silentHooks<HashListSyncEvents>();
  const { bucket } = deps;
  const wanted = deps.lists ? new Set(deps.lists) : undefined;
  const resyncMs = deps.resyncIntervalMs;
  const firstRetryMs = deps.retryDelayMs;

  const serving = new Map<string, Serving>();
  const errors = new Map<string, NonNullable<ListSyncStatus['lastError']>>();
  const pending = new Map<string, ObjectInfo>();
  const retryTimers = new Map<string, { timer: NodeJS.Timeout; delay: number }>();
  let os: ObjectStore | undefined;
  let watcher: { stop(): void } | undefined;
  let resyncTimer: NodeJS.Timeout | undefined;
  let draining: Promise<void> | undefined;
  let ready = false;
  let stopped = false;

  const emit = (event: HashListSyncEvent): void => events.emit('hashlist.sync', event);

  const refuse = (info: ObjectInfo, error: HashListError): void => {
    errors.set(info.name, { code: error.code, message: error.message, at: new Date().toISOString(), nuid: info.nuid });
    logger?.error({ list: info.name, bucket, err: error }, 'hash list version refused; the previous version keeps serving');
    emit({ type: 'refused', id: info.name, error });
  };

  /**
   * Works out what one bucket entry means and returns the change to make (or nothing);
   * throws only for transient failures, which are retried.
   */
  const reconcile = async (store: ObjectStore, info: ObjectInfo): Promise<Change | undefined> => {
    const name = info.name;
    const held = serving.get(name);
    if (info.deleted) return held ? { remove: name } : undefined;
    if (info.options?.link) {
      refuse(info, new HashListError('links are not supported for hash lists; publish the file itself', `nats:${bucket}/${name}`));
      return undefined;
    }
    let claimed: PublishedListMeta;
    try {
      claimed = decodeListMetadata(info);
    } catch (err) {
      refuse(info, err as HashListError);
      return undefined;
    }
    if (!claimed.enabled) return held ? { remove: name } : undefined;
    if (held && held.meta.sha256 === claimed.sha256 && sameSettings(held.meta, claimed)) {
      // Same bytes re-published (or seen by both the watch and a re-list): nothing to rebuild.
      serving.set(name, { ...held, nuid: info.nuid });
      errors.delete(name);
      return undefined;
    }
    // A version already refused stays refused; only a new upload is worth downloading again.
    if (errors.get(name)?.nuid === info.nuid) return undefined;
    const started = Date.now();
    let fetched: DownloadedList | null;
    try {
      fetched = await downloadHashList(store, name, deps.index);
    } catch (err) {
      if (err instanceof HashListError) {
        refuse(info, err);
        return undefined;
      }
      throw err;
    }
    if (!fetched) return held ? { remove: name } : undefined;
    serving.set(name, { list: fetched.list, nuid: fetched.info.nuid, meta: fetched.meta });
    errors.delete(name);
    logger?.info(
      { list: name, bucket, entries: fetched.list.data.count, sha256: fetched.meta.sha256, ms: Date.now() - started },
      'hash list version loaded',
    );
    emit({ type: 'loaded', id: name, count: fetched.list.data.count, sha256: fetched.meta.sha256, ms: Date.now() - started });
    return { put: fetched.list };
  };

  const scheduleRetry = (info: ObjectInfo, err: Error): void => {
    const previous = retryTimers.get(info.name);
    const delay = previous ? Math.min(previous.delay * 2, 60_000) : firstRetryMs;
    if (previous) clearTimeout(previous.timer);
    logger?.warn({ list: info.name, bucket, err, delayMs: delay }, 'hash list download failed; retrying');
    emit({ type: 'retrying', id: info.name, error: err, delayMs: delay });
    const timer = setTimeout(() => {
      if (!pending.has(info.name)) pending.set(info.name, info);
      kick();
    }, delay);
    timer.unref();
    retryTimers.set(info.name, { timer, delay });
  };

  /**
   * Hands one list's change to the matcher. The matcher refuses a list id another source (local
   * files) already serves; that refusal is this list's alone, reported like bad content, so one
   * colliding id never stops the other lists (or the worker) from loading.
   */
  const install = (info: ObjectInfo, change: Change): void => {
    try {
      sink.apply({ ...(change.put ? { put: [change.put] } : {}), ...(change.remove ? { remove: [change.remove] } : {}) });
    } catch (err) {
      if (change.put) serving.delete(info.name);
      refuse(
        info,
        err instanceof HashListError ? err : new HashListError(String(err), `nats:${bucket}/${info.name}`, undefined, { cause: err }),
      );
    }
  };

  /** Processes pending entries one at a time; `firstPass` collects the changes for start() to install. */
  const drain = async (firstPass?: Array<{ info: ObjectInfo; change: Change }>): Promise<void> => {
    while (!stopped && os && pending.size) {
      const [name, info] = pending.entries().next().value as [string, ObjectInfo];
      pending.delete(name);
      try {
        const change = await reconcile(os, info);
        const retry = retryTimers.get(name);
        if (retry && !pending.has(name)) {
          clearTimeout(retry.timer);
          retryTimers.delete(name);
        }
        if (!change || stopped) continue;
        if (change.remove) {
          serving.delete(change.remove);
          logger?.info({ list: change.remove, bucket }, 'hash list removed');
          emit({ type: 'removed', id: change.remove });
        }
        if (firstPass) firstPass.push({ info, change });
        else install(info, change);
      } catch (err) {
        if (!stopped) scheduleRetry(info, err as Error);
      }
    }
  };

  const kick = (): void => {
    // Before ready, start() drains the first pass itself (collecting one swap).
    if (draining || stopped || !ready) return;
    draining = drain().finally(() => {
      draining = undefined;
      if (pending.size && !stopped) kick();
    });
  };

  const enqueue = (info: ObjectInfo): void => {
    if (wanted && !wanted.has(info.name)) return;
    pending.set(info.name, info);
  };

  const resync = async (): Promise<void> => {
    if (!os || stopped) return;
    const present = await os.list();
    const names = new Set(present.map((i) => i.name));
    for (const info of present) {
      const held = serving.get(info.name);
      if ((!held || held.nuid !== info.nuid) && errors.get(info.name)?.nuid !== info.nuid) enqueue(info);
    }
    for (const name of serving.keys()) {
      if (!names.has(name)) enqueue({ name, bucket, deleted: true, nuid: '' } as ObjectInfo);
    }
    kick();
  };

  const watch = async (store: ObjectStore): Promise<void> => {
    const iter = await store.watch({ includeHistory: false });
    watcher = iter;
    void (async () => {
      try {
        for await (const info of iter) {
          enqueue(info);
          if (ready) kick();
        }
      } catch (err) {
        logger?.error({ err, bucket }, 'hash list watch failed');
      }
      if (!stopped && !nc.isClosed()) {
        // The watch ended without stop(): start a new one and re-list to catch up.
        logger?.warn({ bucket }, 'hash list watch ended; restarting');
        setTimeout(() => {
          if (!stopped) void watch(store).then(resync, (err: unknown) => logger?.error({ err, bucket }, 'cannot restart hash list watch'));
        }, firstRetryMs).unref();
      }
    })();
  };

  return {
    get ready() {
      return ready;
    },
    async start() {
      if (os) throw new Error('hash list sync already started');
      os = await openHashListBucket(nc, bucket, { replicas: deps.replicas });
      // Watch first, then list: an update landing in between is seen by the watch.
      await watch(os);
      for (const info of await os.list()) enqueue(info);
      const firstPass: Array<{ info: ObjectInfo; change: Change }> = [];
      draining = drain(firstPass);
      await draining;
      draining = undefined;
      if (stopped) return;
      // One list at a time, so a refused one costs only itself; synchronously, so no frame is
      // matched between two of these swaps and the first pass still lands as one change.
      for (const { info, change } of firstPass) install(info, change);
      sink.markLoaded();
      ready = true;
      logger?.info({ bucket, lists: [...serving.keys()], refused: [...errors.keys()] }, 'hash list sync ready');
      kick();
      if (resyncMs > 0) {
        resyncTimer = setInterval(() => {
          resync().catch((err: unknown) => logger?.warn({ err, bucket, code: errorCode(err) }, 'hash list resync failed'));
        }, resyncMs);
        resyncTimer.unref();
      }
    },
    async stop() {
      stopped = true;
      if (resyncTimer) clearInterval(resyncTimer);
      for (const { timer } of retryTimers.values()) clearTimeout(timer);
      retryTimers.clear();
      watcher?.stop();
      await draining?.catch(() => undefined);
    },
    status() {
      const ids = new Set([...serving.keys(), ...errors.keys()]);
      return [...ids].sort().map((id) => {
        const s = serving.get(id);
        const e = errors.get(id);
        return {
          id,
          ...(s ? { serving: { sha256: s.meta.sha256, count: s.list.data.count, nuid: s.nuid, loadedAt: s.list.meta.loadedAt } } : {}),
          ...(e ? { lastError: e } : {}),
        };
      });
    },
    resync,
  };
}

function sameSettings(a: PublishedListMeta, b: PublishedListMeta): boolean {
  return a.action === b.action && a.label === b.label && a.source === b.source && a.format === b.format;
}
