import { createHash } from 'node:crypto';
import { z } from 'zod';
import { IsoTimeSchema, SchemaVersionSchema, StreamIdSchema, type DeepReadonly } from './common.js';

/*
 * What closes the loop with the ingest server: the bridge records who publishes each stream
 * (KV `screening-publishers`), the enforcer blocks a killed publisher (KV `screening-blocks`),
 * and every action either takes is audited on `enforcement.actions.<streamId>`. Written by the
 * bridge and the enforcer only, so the objects are strict.
 */

export const IngestKindSchema = z
  .enum(['nginx-rtmp', 'srs', 'mediamtx', 'generic'])
  .describe('Which ingest server: decides the webhook format and the kick API');

/** Ingest ids name KV-safe, log-safe instances: `nginx-eu-1`. */
export const IngestIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'ingest id: 1-64 of A-Z a-z 0-9 _ -');

export const IngestRefSchema = z.strictObject({
  id: IngestIdSchema.describe('The ingest instance, as configured (ingests[].id)'),
  kind: IngestKindSchema,
});

/**
 * How the ingest identifies the publishing connection: what a kick call needs, and what evidence
 * and reports need. `name` is the stream name as the ingest knows it, which for nginx-rtmp and
 * SRS is usually the secret stream key: it is kept in KV only (nginx-rtmp's drop call needs it),
 * never in events, logs or the audit stream, which carry `nameRedacted`.
 */
export const PublisherTargetSchema = z.strictObject({
  app: z.string().max(256).optional().describe('RTMP application (nginx-rtmp, SRS), or the path for MediaMTX'),
  name: z.string().max(1024).describe('Stream name at the ingest (often the stream key): a secret'),
  vhost: z.string().max(256).optional().describe('SRS vhost'),
  clientId: z.string().max(128).optional().describe('nginx-rtmp clientid, SRS client_id, generic client id'),
  connectionId: z.string().max(128).optional().describe("MediaMTX connection/session UUID (the auth request's id)"),
  protocol: z.string().max(32).optional().describe('MediaMTX protocol: rtmp, rtsp, srt, webrtc'),
  publisherIp: z.string().max(64).optional().describe("The publisher's address as the ingest reported it"),
});

/** KV `screening-publishers`, key = stream id. */
export const PublisherRecordSchema = z
  .strictObject({
    schemaVersion: SchemaVersionSchema,
    type: z.literal('publisher'),
    streamId: StreamIdSchema,
    ingest: IngestRefSchema,
    target: PublisherTargetSchema,
    nameRedacted: z.string().max(256).describe('`name` with the stream key masked, for logs and reports'),
    urlRedacted: z.string().max(4096).describe('The pull URL handed to the workers, stream key and credentials masked'),
    startEventId: z.string().min(1).describe('Nats-Msg-Id of the streams.started event this publish produced'),
    startedAt: IsoTimeSchema.describe('When the bridge accepted the publish'),
    endedAt: IsoTimeSchema.optional().describe('When the ingest reported the end of the publish'),
  })
  .describe('Who publishes a stream, recorded by the bridge for the kick call, evidence and reports');

export const BlockScopeSchema = z
  .enum(['key', 'stream', 'ip'])
  .describe('key: the stream name/key at any ingest; stream: the stream id; ip: the publisher address');

export const BlockReasonSchema = z.enum(['killswitch', 'review_confirmed', 'operator']);

/** KV `screening-blocks`, key = blockKey(scope, value). */
export const BlockRecordSchema = z
  .strictObject({
    schemaVersion: SchemaVersionSchema,
    type: z.literal('block'),
    key: z.string().regex(/^(key|stream|ip)-[0-9a-f]{32}$/, 'must be <scope>-<32 hex digits>'),
    scope: BlockScopeSchema,
    display: z.string().max(256).describe('What is blocked, secrets masked (e.g. live/ab***, 192.0.2.7)'),
    streamId: StreamIdSchema.describe('The stream whose kill caused the block'),
    reason: BlockReasonSchema,
    killSwitchEventId: z.string().min(1).optional(),
    list: z.string().optional().describe('The hash list of a hash-match kill'),
    createdAt: IsoTimeSchema,
    expiresAt: IsoTimeSchema.nullable().describe('null: permanent until lifted'),
    createdBy: z.string().min(1).describe('Enforcer id or operator'),
  })
  .describe('A publisher that may not publish again: the bridge refuses its on_publish');

export const EnforcementActionKindSchema = z.enum(['disconnect', 'block', 'unblock', 'skip']);
export const EnforcementResultSchema = z.enum(['done', 'already_gone', 'failed', 'skipped']);

export const EnforcementActionSchema = z
  .strictObject({
    schemaVersion: SchemaVersionSchema,
    type: z.literal('enforcement_action'),
    eventId: z.string().min(1).describe('Deterministic (kill-switch, action, attempt): a retried publish is stored once'),
    streamId: StreamIdSchema,
    action: EnforcementActionKindSchema.describe(
      'disconnect: kick call at the ingest; block: deny re-publish; unblock: a block lifted; skip: nothing to do',
    ),
    reason: z.enum(['killswitch', 'review_confirmed', 'review_dismissed', 'operator', 'expired']),
    killSwitchEventId: z.string().min(1).optional().describe('The kill-switch this action carries out'),
    ingest: IngestRefSchema.optional(),
    target: z
      .strictObject({
        app: z.string().optional(),
        nameRedacted: z.string().optional(),
        clientId: z.string().optional(),
        connectionId: z.string().optional(),
        protocol: z.string().optional(),
        publisherIp: z.string().optional(),
      })
      .optional()
      .describe('The connection acted on, stream key masked'),
    blockKeys: z.array(z.string()).optional().describe('KV keys of the blocks written or lifted'),
    result: EnforcementResultSchema,
    attempt: z.number().int().min(1).describe('Delivery attempt of the kill-switch (1 = first)'),
    willRetry: z.boolean().describe('A failed attempt that will be retried with backoff'),
    detail: z.string().max(2000).optional().describe("The ingest's answer or the error, secrets masked"),
    by: z.string().min(1).describe('Enforcer id or operator'),
    at: IsoTimeSchema,
  })
  .describe('What the enforcer (or an operator) did at the ingest server, and the result: the audit trail');

export type IngestKind = z.output<typeof IngestKindSchema>;
export type IngestRef = DeepReadonly<z.output<typeof IngestRefSchema>>;
export type PublisherTarget = DeepReadonly<z.output<typeof PublisherTargetSchema>>;
export type PublisherRecord = DeepReadonly<z.output<typeof PublisherRecordSchema>>;
export type BlockScope = z.output<typeof BlockScopeSchema>;
export type BlockReason = z.output<typeof BlockReasonSchema>;
export type BlockRecord = DeepReadonly<z.output<typeof BlockRecordSchema>>;
export type EnforcementAction = DeepReadonly<z.output<typeof EnforcementActionSchema>>;

/**
 * The KV key of a block. Values are digested so the key holds no stream key or address, and any
 * value (IPv6 colons, slashes) becomes a valid KV key. The key scope is app + name, not the
 * ingest instance: a blocked key is refused on every ingest of the fleet.
 */
export function blockKey(scope: BlockScope, value: string): string {
  return `${scope}-${createHash('sha256').update(`${scope}\u001f${value}`).digest('hex').slice(0, 32)}`;
}

/** The value a `key` block is taken over: what identifies a stream key across ingests. */
export function streamKeyValue(target: { readonly app?: string; readonly name: string }): string {
  return `${target.app ?? ''}/${target.name}`;
}

/** Whether a block is in force at `nowMs` (expired blocks count as lifted until swept). */
export function blockActive(block: Pick<BlockRecord, 'expiresAt'>, nowMs: number): boolean {
  return block.expiresAt === null || Date.parse(block.expiresAt) > nowMs;
}
