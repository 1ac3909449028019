import { z } from 'zod';
import { CaseIdSchema, Hex64Schema, IsoTimeSchema, SchemaVersionSchema, StreamIdSchema, type DeepReadonly } from './common.js';
import { EvidenceFrameSchema } from './evidence.js';
import { EscalationPrioritySchema, FrameRefSchema, HashMatchSchema } from './screening-events.js';

/*
 * Escalation cases (issue 10): one open case per stream and reason class. The worker publishes
 * `case_opened`, then `case_updated` for later frames with the same reason (new scores, evidence,
 * a priority change), then `case_closed` when the stream ends or a review decision closes it.
 *
 * Every case event carries the WHOLE current state of the case, not a delta, and a `revision`
 * that grows by one per event of the case: a consumer that starts late, or sees an event twice or
 * out of order, keeps the highest revision and is right.
 */

/** A score of one signal on one sampled frame: what a console draws as a sparkline. */
export const ScoreSampleSchema = z.strictObject({
  seq: z.number().int().min(0),
  at: IsoTimeSchema,
  score: z.number().min(0).max(1),
});

/** Longest score history a case event carries per reason; older samples are dropped first. */
export const MAX_SCORE_SAMPLES = 120;

export const CaseReasonSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('hash_match'), match: HashMatchSchema }),
  z.strictObject({
    kind: z.literal('classifier'),
    signal: z.string().min(1).describe('Classifier signal, e.g. nudity or a custom classifier id'),
    score: z.number().min(0).max(1).describe('Score on the latest frame that counted'),
    peak: z.number().min(0).max(1).describe('Highest score since the case opened'),
    threshold: z.number().min(0).max(1),
    recent: z
      .array(ScoreSampleSchema)
      .max(MAX_SCORE_SAMPLES)
      .optional()
      .describe(`Scores on the latest sampled frames, oldest first (at most ${MAX_SCORE_SAMPLES})`),
  }),
  z.strictObject({
    kind: z.literal('possible_minor'),
    minAge: z.number().min(0).optional().describe('Youngest apparent age among the faces'),
    challengeAge: z.number().min(0).describe('Apparent ages under this count as a possible minor'),
  }),
  z.strictObject({
    kind: z.literal('unscreened'),
    code: z.string().min(1).describe('Why the stream cannot be screened, e.g. source_failed, models_not_ready, shedding'),
    message: z.string().max(2000),
  }),
]);

export const CasePolicySchema = z.strictObject({
  version: z.string().min(1).describe('Version of the policy that decided (config digest or release)'),
  rule: z.string().min(1).describe('The rule that fired, e.g. nudity_with_minor, escalate_list_match, fail_safe'),
});

export const KillSwitchFiredSchema = z.strictObject({
  eventId: z.string().min(1).describe('The kill-switch event (screening.killswitch.<streamId>)'),
  at: IsoTimeSchema,
  reason: z.enum(['hash_match', 'review_confirmed', 'fail_closed']),
});

export const CaseClosureSchema = z.strictObject({
  cause: z.enum(['stream_ended', 'review', 'superseded']).describe('superseded: merged into another case of the stream'),
  at: IsoTimeSchema,
  decisionId: z.string().min(1).optional().describe('The review decision that closed it (cause review)'),
  reviewer: z.string().min(1).optional(),
  resolution: z.enum(['confirmed', 'dismissed']).optional().describe('What the closing review decided'),
});

const caseFields = {
  schemaVersion: SchemaVersionSchema,
  eventId: z.string().min(1).describe('Unique per event; also the Nats-Msg-Id'),
  caseId: CaseIdSchema,
  revision: z.number().int().min(1).describe('1 on case_opened, +1 per later event of the case; keep the highest'),
  streamId: StreamIdSchema,
  reasonClass: z
    .string()
    .regex(/^[a-z0-9_:-]{1,64}$/)
    .describe('The class that keys "one open case per stream and reason class", e.g. hash_match, classifier:nudity, unscreened'),
  priority: EscalationPrioritySchema,
  reasons: z.array(CaseReasonSchema).min(1).describe('Current reasons with their scores'),
  policy: CasePolicySchema,
  openedAt: IsoTimeSchema,
  updatedAt: IsoTimeSchema,
  frame: FrameRefSchema.optional().describe('The latest frame that counted (absent for unscreened cases)'),
  storyboard: z
    .array(EvidenceFrameSchema)
    .max(32)
    .describe('Stored evidence frames, oldest first (default the last 6 sampled); empty until evidence is attached'),
  pdqHash: Hex64Schema.optional().describe('PDQ hash of the decisive frame'),
  killSwitch: KillSwitchFiredSchema.optional().describe('A kill-switch already fired for this stream in this case'),
  metadata: z.record(z.string(), z.unknown()).optional().describe("The stream start's platform metadata"),
  models: z
    .array(
      z.strictObject({
        id: z.string().min(1),
        version: z.string().min(1).describe("The model source's version (manifest source.version)"),
        sha256: Hex64Schema.optional().describe('SHA-256 of the model file'),
      }),
    )
    .max(16)
    .optional()
    .describe('The classifier models that screened the stream (for reports: which model said what)'),
  workerId: z.string().min(1),
  shadow: z.boolean().optional().describe('Opened by a shadow policy: for evaluation, never paged'),
};

export const CaseOpenedSchema = z
  .strictObject({ type: z.literal('case_opened'), ...caseFields })
  .describe('An escalation case opened (the first escalation of a stream and reason class)');

export const CaseUpdatedSchema = z
  .strictObject({
    type: z.literal('case_updated'),
    ...caseFields,
    change: z
      .array(z.enum(['scores', 'evidence', 'priority_raised', 'priority_lowered', 'kill_switch', 'review']))
      .min(1)
      .describe('What changed since the previous revision; priority_raised re-pages'),
  })
  .describe('An open case changed: new peak scores, evidence attached, priority changed, a kill-switch fired');

export const CaseClosedSchema = z
  .strictObject({ type: z.literal('case_closed'), ...caseFields, closure: CaseClosureSchema })
  .describe('A case closed: the stream ended or a review decision closed it');

export const CaseEventSchema = z.discriminatedUnion('type', [CaseOpenedSchema, CaseUpdatedSchema, CaseClosedSchema]);

export type ScoreSample = DeepReadonly<z.output<typeof ScoreSampleSchema>>;
export type CaseReason = DeepReadonly<z.output<typeof CaseReasonSchema>>;
export type CasePolicy = DeepReadonly<z.output<typeof CasePolicySchema>>;
export type CaseClosure = DeepReadonly<z.output<typeof CaseClosureSchema>>;
export type CaseOpened = DeepReadonly<z.output<typeof CaseOpenedSchema>>;
export type CaseUpdated = DeepReadonly<z.output<typeof CaseUpdatedSchema>>;
export type CaseClosed = DeepReadonly<z.output<typeof CaseClosedSchema>>;
export type CaseEvent = DeepReadonly<z.output<typeof CaseEventSchema>>;
export type CaseModel = NonNullable<CaseOpened['models']>[number];
