import { z } from 'zod';
import { InboundSchemaVersionSchema, IsoTimeSchema, StreamIdSchema } from './common.js';

/**
 * The sampler's own URL length limit (src/worker/sampler/source-url.ts). Equal on purpose: a
 * longer URL passed here would be taken, leased and only then refused by the sampler as a
 * failure event, when it is bad input that belongs in the dead letters.
 */
export const MAX_URL_LENGTH = 4096;

/**
 * Largest start event accepted, in bytes. A real start (id, a URL of at most 4 KiB, a few
 * platform fields) is well under 8 KiB; everything beyond the known fields is metadata that is
 * copied into every kill-switch and escalation about the stream and kept for the decision
 * stream's retention. 64 KiB leaves producers ample room while keeping a decision carrying it
 * far below NATS's default 1 MiB max_payload, so metadata can never be what makes a kill-switch
 * unpublishable, and keeps a flood of decisions from being mostly copied metadata.
 */
export const MAX_START_EVENT_BYTES = 64 * 1024;

/**
 * Deepest nesting accepted in a start event (the event object is level 1). Metadata is copied
 * into every decision about the stream; nested 10000 deep (20 KB) it overflowed the stack of
 * JSON.stringify when a kill-switch was published. Platform metadata is a few flat fields; 32
 * levels leave room for any real structure while staying far from any serialiser's stack.
 */
export const MAX_EVENT_DEPTH = 32;

/** Whether `value` nests deeper than `max` levels of objects and arrays. Iterative: the check cannot overflow the stack itself. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

// The sampler decides which schemes it accepts; here we only refuse what can never be a source.
export const SourceUrlSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`)
  // Control characters are exactly what is refused here.
  // eslint-disable-next-line no-control-regex
  .refine((s) => !/[\s\u0000-\u001f]/.test(s), 'must not contain whitespace or control characters')
  .describe('Where the worker pulls the stream from (rtmp, rtmps, srt, http(s) HLS, ...)');

/**
 * `streams.started.<streamId>`. Unknown fields are platform metadata: they are kept (loose
 * object, not stripped) so every decision about the stream carries them back to the platform.
 */
export const StreamStartedSchema = z
  .looseObject({
    schemaVersion: InboundSchemaVersionSchema,
    streamId: StreamIdSchema,
    url: SourceUrlSchema,
    startedAt: IsoTimeSchema.optional(),
  })
  .superRefine((event, ctx) => {
    if (nestsDeeperThan(event, MAX_EVENT_DEPTH)) {
      ctx.addIssue({ code: 'custom', message: `metadata nests deeper than ${MAX_EVENT_DEPTH} levels (counting the event itself)` });
    }
  })
  .describe(
    `A live stream started: screen it. Any other top-level field is platform metadata, copied into every decision (at most ${MAX_EVENT_DEPTH} levels deep, the whole event at most 64 KiB).`,
  );

/**
 * `streams.ended.<streamId>`. For an end only the id matters, so `url` is optional: refusing a
 * well-formed end because it lacks a url would keep an ended stream "live" for no benefit.
 */
export const StreamEndedSchema = z
  .looseObject({
    schemaVersion: InboundSchemaVersionSchema,
    streamId: StreamIdSchema,
    url: SourceUrlSchema.optional(),
    endedAt: IsoTimeSchema.optional(),
  })
  .describe('A live stream ended: stop screening it.');

export type StreamStartedPayload = z.output<typeof StreamStartedSchema>;
export type StreamEndedPayload = z.output<typeof StreamEndedSchema>;
