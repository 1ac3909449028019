import type { Logger } from './logger.js';

/**
 * One hook style for every stage: a typed event map (name -> payload), an emitter the stage
 * receives as a collaborator, and listeners that observe (metrics, tests) without being able to
 * break what they observe.
 */
export type Listeners<E> = { readonly [K in keyof E]?: (payload: E[K]) => void };

export interface Emitter<E> {
  emit<K extends keyof E>(name: K, payload: E[K]): void;
}

export interface Hooks<E> extends Emitter<E> {
  /** Adds listeners; returns a function that removes them again. */
  on(listeners: Listeners<E>): () => void;
}

/**
 * The one safe emit: listeners run synchronously in the order added, and a listener that throws
 * is logged and skipped, so a metrics bug can never stop a stream's screening or its ack.
 */
export function createHooks<E>(logger?: Logger, ...initial: Listeners<E>[]): Hooks<E> {
  const sets = new Set<Listeners<E>>(initial);
  return {
    emit(name, payload) {
      for (const l of sets) {
        const fn = l[name];
        if (!fn) continue;
        try {
          fn(payload);
        } catch (err) {
          logger?.error({ err, hook: String(name) }, 'event listener threw; ignored');
        }
      }
    },
    on(listeners) {
      sets.add(listeners);
      return () => sets.delete(listeners);
    },
  };
}

/** For a stage built without observers. */
export function silentHooks<E>(): Emitter<E> {
  return { emit() {} };
}
