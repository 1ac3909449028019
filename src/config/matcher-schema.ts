import { z } from 'zod';

/**
 * The matcher deployable (`streamscreen matcher serve`): the hash lists served over HTTP with
 * the Hasher-Matcher-Actioner's lookup API, so HMA and Coop clients can call it unchanged. Lists
 * are the worker's (hash.lists and the Object Store bucket), each one a bank.
 */
export const MatcherSection = z.strictObject({
  /** Loopback by default: the API has no authentication of its own; expose it through a proxy that has. */
  host: z.string().default('127.0.0.1'),
  /** HMA's own default port, so a client's base URL can stay as it was. */
  port: z.number().int().min(0).max(65535).default(5000),
  /**
   * Largest image a POST /m/lookup may upload. 20 MiB: a full-resolution phone photo is a few
   * MiB; anything larger is refused before it is decoded.
   */
  maxUploadBytes: z
    .number()
    .int()
    .min(1024)
    .default(20 * 1024 * 1024),
  /**
   * Fastify's two info lines per request ("incoming request", "request completed"). Off by
   * default: a look-up takes about a tenth of a millisecond, and logging every one of thousands a
   * second costs more than the look-up; failed requests are logged either way.
   */
  logRequests: z.boolean().default(false),
  /** Serve the Object Store lists as well as the configured files (hash.objectStore). */
  objectStore: z.boolean().default(true),
});

export type MatcherConfig = z.output<typeof MatcherSection>;
