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
  .describe('A live stream started: screen it. Any other top-level field is platform metadata, copied into every decision.');

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
