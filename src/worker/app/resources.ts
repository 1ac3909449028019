/** Several resources failed to close; every error is kept, in closing order. */
export class CloseError extends AggregateError {
  override name = 'CloseError';
  readonly code = 'close_failed' as const;
}

/**
 * What the worker has opened, in the order it opened it. Closing runs in reverse (the last
 * opened depends on the earlier ones), goes on past a failure so nothing stays open, and throws
 * one CloseError listing every failure. Closing twice returns the first close.
 */
export interface ResourceStack {
  /** Registers a resource's close; returns the resource for chaining. */
  push<T>(name: string, resource: T, close: (resource: T) => unknown): T;
  close(): Promise<void>;
  /** Names still open, in opening order. */
  readonly open: readonly string[];
}

export function createResourceStack(): ResourceStack {
  const entries: { name: string; close: () => unknown }[] = [];
  let closing: Promise<void> | undefined;
  return {
    push(name, resource, close) {
      if (closing) throw new Error(`resource stack is closed; cannot open ${name}`);
      entries.push({ name, close: () => close(resource) });
      return resource;
    },
    get open() {
      return entries.map((e) => e.name);
    },
    close() {
      closing ??= (async () => {
        const errors: Error[] = [];
        while (entries.length > 0) {
          const e = entries.pop()!;
          try {
            await e.close();
          } catch (err) {
            errors.push(new Error(`closing ${e.name} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
          }
        }
        if (errors.length > 0)
          throw new CloseError(errors, `${errors.length} resource(s) failed to close: ${errors.map((e) => e.message).join('; ')}`);
      })();
      return closing;
    },
  };
}
