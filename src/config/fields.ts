import { z } from 'zod';

/** Shared field shapes of the config sections, so every section states a bound the same way. */

/** Whole milliseconds, 0 allowed (0 turns the thing off or means "at once"). */
export const ms = (def: number) => z.number().int().nonnegative().default(def);
/** Whole milliseconds, above 0. */
export const positiveMs = (def: number) => z.number().int().positive().default(def);

/** A literal subject or prefix (no wildcards): a stream id is appended as its last token. */
export const natsSubject = (def: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be a literal NATS subject (tokens of A-Z a-z 0-9 _ - joined by .)')
    .default(def);

/** JetStream stream, consumer and bucket names: one token, no dots. */
export const jetStreamName = (def: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'must be a JetStream name (A-Z a-z 0-9 _ -)')
    .default(def);
