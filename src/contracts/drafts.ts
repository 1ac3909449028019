import { z } from 'zod';
import { Hex64Schema, IsoTimeSchema, SchemaVersionSchema, StreamIdSchema, type DeepReadonly } from './common.js';

/*
 * DRAFTS for the roadmap's deployables (review loop, evidence). Nothing publishes or
 * consumes these yet; they are here so the deployables are built against one agreed shape, and
 * they are marked draft in the AsyncAPI document. They may change before their first producer.
 */

const CaseIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 _ -');

export const ReviewDecisionSchema = z
  .strictObject({
    schemaVersion: SchemaVersionSchema,
    type: z.literal('review_decision'),
    eventId: z.string().min(1),
    caseId: CaseIdSchema.describe('The escalation case (the escalation event id it was opened from)'),
    streamId: StreamIdSchema,
    decision: z
      .enum(['confirm', 'dismiss', 'escalate'])
      .describe('confirm: act (enforce, report); dismiss: no violation; escalate: to a senior reviewer'),
    reviewer: z.string().min(1).describe('Reviewer id (never a display name)'),
    decidedAt: IsoTimeSchema,
    note: z.string().max(4000).optional(),
  })
  .describe("DRAFT: a reviewer's decision on an escalation case; flows back to the workers and the enforcer");

export const EvidenceRefSchema = z
  .strictObject({
    schemaVersion: SchemaVersionSchema,
    type: z.literal('evidence_ref'),
    eventId: z.string().min(1),
    caseId: CaseIdSchema,
    streamId: StreamIdSchema,
    bucket: z.string().min(1).describe('Object Store bucket holding the evidence'),
    key: z.string().min(1).describe('Object name in the bucket'),
    sha256: Hex64Schema.describe('Digest of the stored object, checked on every read'),
    blurred: z.boolean().describe('True when the stored frame is the blurred rendition shown to reviewers by default'),
    frame: z.strictObject({ seq: z.number().int().min(0), capturedAt: IsoTimeSchema }),
  })
  .describe("DRAFT: where a case's evidence frame is stored");

export type ReviewDecision = DeepReadonly<z.output<typeof ReviewDecisionSchema>>;
export type EvidenceRef = DeepReadonly<z.output<typeof EvidenceRefSchema>>;
