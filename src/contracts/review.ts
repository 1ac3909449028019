import { z } from 'zod';
import {
  CaseIdSchema,
  Hex64Schema,
  IsoTimeSchema,
  SchemaVersionSchema,
  StreamIdSchema,
  TOKEN_PATTERN,
  type DeepReadonly,
} from './common.js';
import { EscalationPrioritySchema } from './screening-events.js';

/*
 * Review decisions (issue 10, issue 12). A reviewer (console or `streamscreen review`) publishes a
 * decision on `screening.review.<streamId>` with Nats-Msg-Id = decisionId; the worker holding the
 * stream applies it once (idempotent by decisionId, also after the JetStream dedupe window) and
 * answers on `screening.reviewed.<streamId>` with the resulting state of the case. Both sides
 * write audit records on `screening.audit`.
 */

export const ReviewDecisionKindSchema = z
  .enum(['confirm', 'dismiss', 'escalate', 'add-to-list'])
  .describe(
    'confirm: kill-switch with reason review_confirmed; dismiss: suppress the reason for the stream for the configured time; ' +
      'escalate: raise the priority; add-to-list: put the PDQ hash on a named list',
  );

export const DecisionIdSchema = z.string().regex(TOKEN_PATTERN, 'must be 1-128 characters of A-Z a-z 0-9 _ -');

export const ReviewerIdSchema = z.string().min(1).max(128).describe('Reviewer id (an account id, never a display name)');

export const ReviewDecisionSchema = z
  .strictObject({
    schemaVersion: SchemaVersionSchema,
    type: z.literal('review_decision'),
    decisionId: DecisionIdSchema.describe('Unique id of this decision; the Nats-Msg-Id and the idempotency key'),
    caseId: CaseIdSchema,
    streamId: StreamIdSchema,
    caseRevision: z.number().int().min(1).optional().describe('The case revision the reviewer saw'),
    decision: ReviewDecisionKindSchema,
    reviewer: ReviewerIdSchema,
    decidedAt: IsoTimeSchema,
    note: z.string().max(4000).optional().describe('Free text from the reviewer; audited, never logged'),
    priority: EscalationPrioritySchema.optional().describe('escalate: the priority wanted (default one step up)'),
    list: z
      .strictObject({
        id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
        action: z.enum(['kill', 'escalate']),
        hash: Hex64Schema.describe('PDQ hash to add (the decisive frame by default)'),
        label: z.string().max(200).optional(),
      })
      .optional()
      .describe('add-to-list: where the hash goes'),
    source: z.enum(['console', 'cli']),
  })
  .refine((d) => (d.decision === 'add-to-list') === (d.list !== undefined), {
    message: 'list is required for add-to-list and absent otherwise',
    path: ['list'],
  })
  .describe("A reviewer's decision on an escalation case; applied by the worker holding the stream");

export const CaseStateSchema = z.strictObject({
  state: z.enum(['open', 'closed', 'unknown']).describe('unknown: the worker has no record of the case'),
  priority: EscalationPrioritySchema.optional(),
  revision: z.number().int().min(1).optional(),
  suppressedUntil: IsoTimeSchema.optional().describe('dismiss: the reason is suppressed for the stream until then'),
  killSwitchEventId: z.string().min(1).optional().describe('confirm: the kill-switch published'),
  listVersion: z.string().min(1).optional().describe('add-to-list: the list version that now holds the hash'),
});

export const ReviewAckSchema = z
  .strictObject({
    schemaVersion: SchemaVersionSchema,
    type: z.literal('review_ack'),
    eventId: z.string().min(1).describe('Unique per ack; the Nats-Msg-Id (deterministic from decisionId, so a retry is stored once)'),
    decisionId: DecisionIdSchema,
    caseId: CaseIdSchema,
    streamId: StreamIdSchema,
    decision: ReviewDecisionKindSchema,
    reviewer: ReviewerIdSchema,
    result: z
      .enum(['applied', 'duplicate', 'rejected'])
      .describe('duplicate: this decisionId was applied before (caseState is the state now); rejected: see detail'),
    detail: z.string().max(2000).optional().describe('Why it was rejected, e.g. case_closed, invalid'),
    caseState: CaseStateSchema,
    at: IsoTimeSchema,
    workerId: z.string().min(1),
  })
  .describe('The worker applied (or refused) a review decision; caseState is the resulting state');

export const AuditActionSchema = z.enum([
  'decision_submitted',
  'decision_applied',
  'decision_rejected',
  'original_viewed',
  'evidence_revealed',
  'evidence_exported',
  'exposure_block_lifted',
]);

export const AuditRecordSchema = z
  .strictObject({
    schemaVersion: SchemaVersionSchema,
    type: z.literal('audit'),
    eventId: z.string().min(1).describe('Unique per record; the Nats-Msg-Id'),
    at: IsoTimeSchema,
    actor: z.strictObject({
      kind: z.enum(['reviewer', 'worker', 'operator']),
      id: z.string().min(1).max(128),
    }),
    action: AuditActionSchema,
    caseId: CaseIdSchema.optional(),
    streamId: StreamIdSchema.optional(),
    decisionId: DecisionIdSchema.optional(),
    decision: ReviewDecisionKindSchema.optional(),
    evidence: z
      .strictObject({
        bucket: z.string().min(1),
        name: z.string().min(1),
        rendition: z.enum(['blurred', 'reviewer', 'original']),
        sha256: Hex64Schema,
      })
      .optional()
      .describe('Which object was read (reveals, original views, exports)'),
    subject: z.string().max(128).optional().describe('exposure_block_lifted: whose block was lifted'),
    why: z.string().max(2000).optional().describe('The stated reason (required to view a preserved original)'),
  })
  .describe('Who did what, when, on which case: decisions, their application, reads of evidence');

export type ReviewDecisionKind = z.output<typeof ReviewDecisionKindSchema>;
export type ReviewDecision = DeepReadonly<z.output<typeof ReviewDecisionSchema>>;
export type CaseState = DeepReadonly<z.output<typeof CaseStateSchema>>;
export type ReviewAck = DeepReadonly<z.output<typeof ReviewAckSchema>>;
export type AuditAction = z.output<typeof AuditActionSchema>;
export type AuditRecord = DeepReadonly<z.output<typeof AuditRecordSchema>>;
