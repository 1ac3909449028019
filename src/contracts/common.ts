import { z } from 'zod';

/**
 * Stream ids become NATS subject tokens and KV keys, so they are restricted to characters that
 * are valid in both (no `.`, `*`, `>` or whitespace).
 */
export const STREAM_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export const StreamIdSchema = z
  .string()
  .regex(STREAM_ID_PATTERN, 'must be 1-128 characters of A-Z a-z 0-9 _ - (it becomes a NATS subject token and KV key)')
  .describe('1-128 characters of A-Z a-z 0-9 _ -; equal to the last token of the subject');

/** Case ids, decision ids and list ids become subject tokens, KV keys and object-name parts. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export const CaseIdSchema = z
  .string()
  .regex(TOKEN_PATTERN, 'must be 1-128 characters of A-Z a-z 0-9 _ -')
  .describe('Escalation case id: 1-128 characters of A-Z a-z 0-9 _ -');

export const IsoTimeSchema = z.iso.datetime({
  offset: true,
  message: 'must be an ISO-8601 date-time with a time zone (e.g. 2024-05-01T12:00:00Z)',
});

export const Hex64Schema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');

/**
 * The version of every payload on the wire. A consumer that meets a version it does not know
 * refuses the message (dead letter) rather than guess at its meaning; additive changes that old
 * consumers can ignore do not bump it.
 */
export const SCHEMA_VERSION = 1 as const;

/** Outbound payloads always carry it: consumers can rely on it. */
export const SchemaVersionSchema = z.literal(SCHEMA_VERSION).describe('Payload schema version');

/** Inbound payloads come from platforms that do not know our versions: absent means 1; any other value is refused. */
export const InboundSchemaVersionSchema = z
  .literal(SCHEMA_VERSION, { message: `unknown schema version: this worker reads version ${SCHEMA_VERSION}` })
  .optional()
  .describe('Payload schema version; absent means 1');

/** Nested readonly: the inferred wire types are values that nobody mutates after building. */
export type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;
