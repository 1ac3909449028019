import type { KV } from '@nats-io/kv';
import type { ObjectStore } from '@nats-io/obj';
import { HashListError, StreamscreenError } from '../../domain/errors.js';
import type { HashListEditor } from '../../domain/ports.js';
import { sleep } from '../../domain/retry.js';
import { HASH_LIST_ID_PATTERN } from '../../hash/hash-list.js';
import { decodeListMetadata, encodeListMetadata } from '../../hash/object-store-lists.js';
import { parseHashList } from '../../hash/parse-hashlist.js';

/** Another writer holds the list: retryable (the decision is redelivered and tried again). */
export class ListBusyError extends StreamscreenError {
  override name = 'ListBusyError';
  constructor(list: string) {
    super('list_busy', `hash list ${list} is being changed by another writer`, { retryable: true });
  }
}

export interface ListEditorDeps {
  /**
   * The bucket workers watch (hash.objectStore.bucket): a new version reaches every worker within
   * seconds. Opened when first needed, null while it does not exist (it is the list publisher's to
   * create: workers may not be allowed to).
   */
  readonly lists: () => Promise<ObjectStore | null>;
  /** Where the per-list lock lives (the cases bucket). */
  readonly locks: KV;
  /** A lock older than this was left by a writer that died. */
  readonly staleMs: number;
  readonly holder: string;
  readonly now?: () => number;
}

/**
 * add-to-list: appends a PDQ hash to a text list in the Object Store distribution and publishes
 * the new version with its metadata (sha256, count), exactly as `streamscreen hashlist publish`
 * would, so workers load it through the existing sync. The Object Store has no compare-and-swap,
 * so concurrent additions to one list are serialised by a lock entry in KV (created with
 * create(), taken over when stale, deleted by revision). A hash already on the list is not added
 * twice. A new list is created as a text list with the requested action; an existing one must
 * have that action (a reviewer's "escalate" never turns into "kill" silently).
 */
export function createListEditor(deps: ListEditorDeps): HashListEditor {
  const now = deps.now ?? Date.now;
  const lockKey = (id: string) => `listlock.${id}`;

  const acquire = async (id: string): Promise<number> => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const body = JSON.stringify({ holder: deps.holder, at: now() });
      const entry = await deps.locks.get(lockKey(id));
      try {
        if (!entry || entry.operation !== 'PUT') return await deps.locks.create(lockKey(id), body);
        const at = Number((entry.json<{ at?: number }>() ?? {}).at ?? 0);
        if (now() - at > deps.staleMs) return await deps.locks.update(lockKey(id), body, entry.revision);
      } catch {
        // Lost the race for the lock: wait like anyone who found it held.
      }
      await sleep(100 + attempt * 50);
    }
    throw new ListBusyError(id);
  };

  return {
    async add(request) {
      if (!HASH_LIST_ID_PATTERN.test(request.id)) throw new HashListError(`list id ${JSON.stringify(request.id)} is not valid`, request.id);
      if (!/^[0-9a-f]{64}$/.test(request.hash)) throw new HashListError('hash must be 64 lower-case hex digits', request.id);
      const lists = await deps.lists();
      if (!lists)
        throw new HashListError('the hash-list bucket does not exist: publish a list with streamscreen hashlist publish first', request.id);
      const revision = await acquire(request.id);
      try {
        const where = `nats:${request.id}`;
        const info = await lists.info(request.id);
        let current: Uint8Array = new Uint8Array();
        let enabled = true;
        let label: string | undefined;
        if (info && !info.deleted) {
          const meta = decodeListMetadata(info);
          if (meta.action !== request.action) {
            throw new HashListError(
              `list ${request.id} is a ${meta.action} list; refusing to add a hash meant for ${request.action}`,
              where,
            );
          }
          if (meta.format !== 'text')
            throw new HashListError(`list ${request.id} is ${meta.format}; reviewers add to text lists only`, where);
          current = (await lists.getBlob(request.id)) ?? new Uint8Array();
          enabled = meta.enabled;
          label = meta.label;
          const existing = await parseHashList([current], where, { format: 'text' });
          if (existing.sha256 !== meta.sha256) throw new HashListError('stored list does not match its recorded sha256', where);
          if (
            Buffer.from(current)
              .toString('utf8')
              .split('\n')
              .some((l) => l.trim().slice(0, 64) === request.hash)
          )
            return info.nuid;
        }
        const text = Buffer.from(current).toString('utf8');
        const line = `${request.hash}\t${sanitiseLabel(request.label ?? 'added by review')}\n`;
        const bytes = Buffer.from(`${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${line}`, 'utf8');
        const parsed = await parseHashList([bytes], where, { format: 'text' });
        const put = await lists.put(
          {
            name: request.id,
            metadata: encodeListMetadata({
              id: request.id,
              action: request.action,
              sha256: parsed.sha256,
              format: 'text',
              count: parsed.data.count,
              enabled,
              publishedAt: new Date(now()).toISOString(),
              ...(label ? { label } : {}),
              source: 'streamscreen review',
            }),
          },
          new ReadableStream<Uint8Array>({
            start(c) {
              c.enqueue(bytes);
              c.close();
            },
          }),
        );
        return put.nuid;
      } finally {
        await deps.locks.delete(lockKey(request.id), { previousSeq: revision }).catch(() => undefined);
      }
    },
  };
}

/** A label is the rest of a text line after a TAB: no tabs or line breaks in it. */
function sanitiseLabel(label: string): string {
  return label.replace(/[\t\r\n]+/g, ' ').slice(0, 200);
}
