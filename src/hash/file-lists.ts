import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ConfigError, HashListError } from '../domain/errors.js';
import type { Logger } from '../domain/logger.js';
import type { IndexOptions } from './hash-index.js';
import { HASH_LIST_ACTIONS, HASH_LIST_ID_PATTERN, type HashListSpec, type LoadedList } from './hash-list.js';
import type { HashListSource } from './hash-matcher.js';
import { indexParsedList } from './load-list.js';
import { parseHashListFile } from './parse-hashlist.js';

export interface FileHashListsOptions {
  /** Lists on local disk (each needs `path`). Disabled ones are not loaded. */
  readonly lists: readonly HashListSpec[];
  readonly index?: IndexOptions;
}

export interface FileHashListsDeps {
  /** From `matcher.source('files')`. */
  readonly sink: HashListSource;
  readonly logger?: Logger;
}

export interface ReloadReport {
  readonly loaded: readonly string[];
  readonly unchanged: readonly string[];
  readonly removed: readonly string[];
  readonly failed: ReadonlyArray<{ readonly id: string; readonly error: HashListError }>;
}

export interface FileHashLists {
  /**
   * Initial load, all or nothing: any list that cannot be loaded rejects with its
   * HashListError (file and line) and nothing is installed, so a worker never reports ready
   * while silently missing a configured list.
   */
  load(): Promise<ReloadReport>;
  /**
   * Re-reads every list (e.g. on SIGHUP or a file change; pass new specs after a config reload).
   * Lists whose bytes and settings are unchanged are kept as they are; a list that fails keeps
   * its previous version serving and is reported in `failed`; the rest swap in together.
   * Never rejects for a bad file. Calls are serialised.
   */
  reload(lists?: readonly HashListSpec[]): Promise<ReloadReport>;
}

export function validateSpecs(lists: readonly HashListSpec[], needPath: boolean): void {
  const issues: string[] = [];
  const seen = new Set<string>();
  for (const [i, spec] of lists.entries()) {
    const at = `lists[${i}]${spec.id ? ` (${spec.id})` : ''}`;
    if (!HASH_LIST_ID_PATTERN.test(spec.id ?? '')) issues.push(`${at}: id must match ${HASH_LIST_ID_PATTERN}`);
    if (seen.has(spec.id)) issues.push(`${at}: duplicate id`);
    seen.add(spec.id);
    if (spec.action !== undefined && !HASH_LIST_ACTIONS.includes(spec.action))
      issues.push(`${at}: action must be kill, escalate or negative`);
    if (spec.maxDistance !== undefined && !(Number.isInteger(spec.maxDistance) && spec.maxDistance >= 0 && spec.maxDistance <= 128)) {
      issues.push(`${at}: maxDistance must be an integer 0..128`);
    }
    if (needPath && (spec.enabled ?? true) && !spec.path) issues.push(`${at}: path is required`);
  }
  if (issues.length) throw new ConfigError('invalid hash list configuration', issues);
}

export function createFileHashLists(deps: FileHashListsDeps & FileHashListsOptions): FileHashLists {
  const { sink, logger } = deps;
  let specs = deps.lists;
  validateSpecs(specs, true);
  const current = new Map<string, Held>();
  let queue: Promise<unknown> = Promise.resolve();

  /**
   * The list to serve for `spec`, or `held` when the file's bytes are the ones already serving.
   * Each file is read once: when its stat is as it was at the last load (the usual reload), only
   * hashed, which is far cheaper than parsing and indexing; otherwise parsed straight away, the
   * parse computing the SHA-256 that decides whether anything changed (a file rewritten with the
   * same bytes is not re-indexed). Only a file whose stat is unchanged but whose bytes are not
   * is read twice.
   */
  const loadOne = async (spec: HashListSpec, held: Held | undefined): Promise<Held> => {
    const path = spec.path!;
    const stamp = await fileStamp(path);
    // A vPDQ list may be a directory: its digest covers every file, so it is simply parsed again (videos are small).
    if (held && spec.format !== 'vpdq' && sameStamp(held.stamp, stamp) && (await fileSha256(path)) === held.list.meta.sha256) return held;
    const started = Date.now();
    const parsed = await parseHashListFile(path, spec.format ? { format: spec.format } : {});
    if (held && parsed.sha256 === held.list.meta.sha256) return { ...held, stamp };
    const list = await indexParsedList(parsed, { ...spec, origin: `file:${path}` }, deps.index);
    logger?.info(
      {
        list: spec.id,
        entries: parsed.data.count,
        skipped: parsed.data.stats.skippedOtherTypes,
        sha256: parsed.sha256,
        ms: Date.now() - started,
      },
      'hash list loaded',
    );
    return { list, spec, stamp };
  };

  const run = async (next: readonly HashListSpec[], allOrNothing: boolean): Promise<ReloadReport> => {
    validateSpecs(next, true);
    const enabled = next.filter((s) => s.enabled ?? true);
    const put: Held[] = [];
    const unchanged: string[] = [];
    const failed: Array<{ id: string; error: HashListError }> = [];
    for (const spec of enabled) {
      try {
        const held = current.get(spec.id);
        const got = await loadOne(spec, held && sameSettings(held.spec, spec) ? held : undefined);
        if (got.list === held?.list) {
          current.set(spec.id, got);
          unchanged.push(spec.id);
          continue;
        }
        put.push(got);
      } catch (err) {
        const error = err instanceof HashListError ? err : new HashListError((err as Error).message, spec.path!, undefined, { cause: err });
        if (allOrNothing) throw error;
        logger?.error({ list: spec.id, err: error, code: error.code }, 'hash list refused; the previous version keeps serving');
        failed.push({ id: spec.id, error });
      }
    }
    const keep = new Set(enabled.map((s) => s.id));
    const removed = [...current.keys()].filter((id) => !keep.has(id));
    const loaded: string[] = [];
    if (allOrNothing) {
      // One swap: the matcher refuses it whole (an id another source serves) and nothing is installed.
      sink.apply({ put: put.map((p) => p.list), remove: removed });
      loaded.push(...put.map((p) => p.spec.id));
    } else {
      // Per list, so the matcher refusing one (its id is served by another source) fails only that
      // one. Synchronous: no frame is matched between these swaps, so they land as one change.
      sink.apply({ remove: removed });
      for (const p of put) {
        try {
          sink.apply({ put: [p.list] });
          loaded.push(p.spec.id);
        } catch (err) {
          const error =
            err instanceof HashListError ? err : new HashListError((err as Error).message, p.spec.path!, undefined, { cause: err });
          logger?.error({ list: p.spec.id, err: error, code: error.code }, 'hash list refused; the previous version keeps serving');
          failed.push({ id: p.spec.id, error });
        }
      }
    }
    for (const id of removed) current.delete(id);
    for (const p of put) if (loaded.includes(p.spec.id)) current.set(p.spec.id, p);
    specs = next;
    return { loaded, unchanged, removed, failed };
  };

  const serial = <T>(task: () => Promise<T>): Promise<T> => {
    const result = queue.then(task, task);
    queue = result.catch(() => undefined);
    return result;
  };

  return {
    load: () => serial(() => run(specs, true)),
    reload: (lists) => serial(() => run(lists ?? specs, false)),
  };
}

interface Held {
  readonly list: LoadedList;
  readonly spec: HashListSpec;
  /** The file's stat when it was last read. */
  readonly stamp: FileStamp;
}

/** What says a file was not touched: any write changes ctime, which no user can set back. */
interface FileStamp {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

async function fileStamp(path: string): Promise<FileStamp> {
  const { dev, ino, size, mtimeMs, ctimeMs } = await stat(path);
  return { dev, ino, size, mtimeMs, ctimeMs };
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

function sameSettings(a: HashListSpec, b: HashListSpec): boolean {
  return (
    a.path === b.path &&
    a.action === b.action &&
    a.label === b.label &&
    a.source === b.source &&
    a.format === b.format &&
    a.maxDistance === b.maxDistance &&
    JSON.stringify(a.video) === JSON.stringify(b.video)
  );
}

async function fileSha256(path: string): Promise<string> {
  const digest = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) digest.update(chunk as Buffer);
  return digest.digest('hex');
}
