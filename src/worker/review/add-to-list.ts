import type { ReviewDecision } from '../../contracts/index.js';
import { StreamscreenError } from '../../domain/errors.js';
import type { HashListEditor } from '../../domain/ports.js';
import { retryVerdict } from '../../nats/index.js';

export type ListOutcome = { readonly ok: true; readonly version: string } | { readonly ok: false; readonly detail: string };

/**
 * add-to-list's list change, as a value: done (the list version now holding the hash), or refused
 * for good (a list of the other action, a CSV list, a worker not permitted to write the bucket),
 * which the decision's ack reports as rejected. A failure that can pass (NATS unreachable, the
 * list busy) is thrown: the decision goes back and is tried again.
 */
export async function addToList(lists: HashListEditor | undefined, list: NonNullable<ReviewDecision['list']>): Promise<ListOutcome> {
  if (!lists) return { ok: false, detail: 'list_write_refused: this worker has no hash-list bucket (hash.objectStore.enabled)' };
  try {
    return { ok: true, version: await lists.add(list) };
  } catch (err) {
    const retryable = err instanceof StreamscreenError ? err.retryable : retryVerdict(err).retryable;
    if (retryable) throw err;
    return { ok: false, detail: `list_write_refused: ${err instanceof Error ? err.message : String(err)}`.slice(0, 2000) };
  }
}
