import { z } from 'zod';
import { IsoTimeSchema, SchemaVersionSchema, StreamIdSchema, type DeepReadonly } from './common.js';

/*
 * DRAFTS for the roadmap's deployables (the enforcer). Nothing publishes or consumes these yet;
 * they are here so the deployables are built against one agreed shape, and they are marked draft
 * in the AsyncAPI document. They may change before their first producer. (Review decisions and
 * evidence references left the drafts for cases.ts, review.ts and evidence.ts.)
 */

export const EnforcementActionSchema = z
  .strictObject({
    schemaVersion: SchemaVersionSchema,
    type: z.literal('enforcement_action'),
    eventId: z.string().min(1),
    streamId: StreamIdSchema,
    action: z.enum(['disconnect', 'deny_reconnect']),
    reason: z.enum(['killswitch', 'review_confirmed']),
    killSwitchEventId: z.string().min(1).optional().describe('The kill-switch this action carries out'),
    ingest: z.enum(['nginx-rtmp', 'srs', 'mediamtx', 'generic']),
    result: z.enum(['done', 'already_gone', 'failed']),
    detail: z.string().max(2000).optional(),
    at: IsoTimeSchema,
  })
  .describe('DRAFT: what the enforcer did at the ingest server');

export type EnforcementAction = DeepReadonly<z.output<typeof EnforcementActionSchema>>;
