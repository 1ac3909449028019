import { z } from 'zod';
import { CaseIdSchema, Hex64Schema, IsoTimeSchema, SchemaVersionSchema, StreamIdSchema, type DeepReadonly } from './common.js';

/*
 * Outbound payloads are strict objects: the worker is their only producer, so a field the
 * contract does not name is a bug the tests should catch, not a silent extension. A new field
 * is added here first (and to docs/asyncapi.yaml by `npm run contract`).
 */

export const VideoMatchSchema = z
  .strictObject({
    id: z.string().min(1).describe('The known video (its vPDQ file name, or the published list id)'),
    share: z.number().min(0).max(1).describe("Share of the video's distinct frames (quality >= 50) matched within the stream's window"),
    queryShare: z.number().min(0).max(1).describe("Share of the stream's frames in the window that matched the video"),
    matchedFrames: z.number().int().min(0),
    videoFrames: z.number().int().min(1),
    segment: z
      .strictObject({ start: z.number().min(0), end: z.number().min(0) })
      .describe('The longest run of the video matched without a gap: seconds into the known video'),
    rule: z
      .enum(['share', 'run'])
      .describe("share: the matched shares reached the list's thresholds; run: enough consecutive seconds matched"),
  })
  .describe("A stream showing a known video (vPDQ), judged over the stream's recent frames");

export const HashMatchSchema = z.strictObject({
  list: z.string().min(1).describe('Id of the hash list the entry came from'),
  label: z.string().optional(),
  distance: z
    .number()
    .int()
    .min(0)
    .max(256)
    .describe('Hamming distance between the frame hash and the list entry (a video match: the closest frame)'),
  hash: Hex64Schema.describe("The list entry's PDQ hash (a video match: the known video's closest frame)"),
  action: z.enum(['kill', 'escalate']).optional().describe('What a hit on this list causes; lists default to kill'),
  video: VideoMatchSchema.optional().describe('Known-video lists: the video the stream showed, how much of it and which part'),
});

export const FrameRefSchema = z.strictObject({
  seq: z.number().int().min(0).describe('Frame sequence number within this screening run'),
  pts: z.number().describe('Presentation time in the stream, seconds'),
  capturedAt: IsoTimeSchema.describe('Wall-clock time the frame left ffmpeg'),
  hash: Hex64Schema.optional().describe("The frame's own PDQ hash"),
  quality: z.number().int().min(0).max(100).optional().describe('PDQ quality (0-100)'),
});

const MetadataSchema = z.record(z.string(), z.unknown()).describe("The stream start's platform metadata, passed through");

/** Which policy decided and which of its rules fired (issue 10): on every kill-switch, escalation and case event. */
export const DecisionPolicySchema = z.strictObject({
  version: z.string().min(1).describe('Version of the policy that decided (config digest or release)'),
  rule: z
    .string()
    .min(1)
    .describe('The rule that fired, e.g. kill_list_match, explicit_with_possible_minor, review_confirmed, fail_closed'),
});

const decisionFields = {
  schemaVersion: SchemaVersionSchema,
  eventId: z.string().min(1).describe('Deterministic id, also the Nats-Msg-Id: a retried publish is stored once'),
  streamId: StreamIdSchema,
  frame: FrameRefSchema,
  decidedAt: IsoTimeSchema,
  latencyMs: z.number().min(0).describe('Milliseconds from the frame leaving ffmpeg to the decision'),
  workerId: z.string().min(1),
  shadow: z.boolean().optional().describe('Shadow policy: published to the shadow subject, not acted on'),
  metadata: MetadataSchema.optional(),
  caseId: CaseIdSchema.optional().describe('The escalation case this decision belongs to (screening.escalation.{opened,updated,closed})'),
  policy: DecisionPolicySchema.optional().describe('Policy version and rule; always set by workers of issue 10 on'),
};

export const KillSwitchReasonSchema = z
  .enum(['hash_match', 'review_confirmed', 'fail_closed'])
  .describe(
    'hash_match: a frame matched a kill list; review_confirmed: a reviewer confirmed a case; fail_closed: the stream cannot be screened and policy.failClosed is on',
  );

export const KillSwitchEventSchema = z
  .strictObject({
    type: z.literal('killswitch'),
    reason: KillSwitchReasonSchema,
    match: HashMatchSchema.optional().describe('hash_match: the closest kill-list entry'),
    review: z
      .strictObject({ decisionId: z.string().min(1), reviewer: z.string().min(1).max(128) })
      .optional()
      .describe('review_confirmed: the decision that confirmed the case'),
    unscreened: z
      .strictObject({ code: z.string().min(1), message: z.string().max(2000) })
      .optional()
      .describe('fail_closed: why the stream cannot be screened'),
    ...decisionFields,
    frame: FrameRefSchema.optional().describe(
      "The frame decided on (hash_match); the case's decisive frame (review_confirmed); absent for fail_closed",
    ),
    latencyMs: z.number().min(0).optional().describe('hash_match: milliseconds from the frame leaving ffmpeg to the decision'),
  })
  .superRefine((e, ctx) => {
    const need = (field: 'match' | 'frame' | 'latencyMs' | 'review' | 'unscreened') => {
      if (e[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `required for reason ${e.reason}` });
    };
    if (e.reason === 'hash_match') (['match', 'frame', 'latencyMs'] as const).forEach(need);
    if (e.reason === 'review_confirmed') need('review');
    if (e.reason === 'fail_closed') need('unscreened');
  })
  .describe('Stop this stream now: a frame matched a kill list, a reviewer confirmed a case, or (fail-closed) it cannot be screened');

export const EscalationPrioritySchema = z.enum(['critical', 'high', 'normal']);

export const EscalationReasonSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('hash_match'), match: HashMatchSchema }),
  z.strictObject({
    kind: z.literal('classifier'),
    signal: z.string().min(1),
    score: z.number().min(0).max(1),
    threshold: z.number().min(0).max(1),
  }),
  z.strictObject({
    kind: z.literal('possible_minor'),
    minAge: z.number().min(0).optional().describe('Youngest apparent age among the faces'),
    challengeAge: z.number().min(0).describe('Apparent ages under this count as a possible minor'),
  }),
]);

export const EscalationEventSchema = z
  .strictObject({
    type: z.literal('escalation'),
    priority: EscalationPrioritySchema,
    reasons: z.array(EscalationReasonSchema).min(1),
    ...decisionFields,
  })
  .describe('A human must look at this stream');

export const ScreeningFailureEventSchema = z
  .strictObject({
    schemaVersion: SchemaVersionSchema,
    type: z.literal('failure'),
    eventId: z.string().min(1),
    streamId: StreamIdSchema,
    code: z.string().min(1).describe('Stable error code (a metric label), e.g. source_failed, inference_failed'),
    message: z.string().max(2000),
    url: z.string().optional().describe('The source URL with credentials and stream keys redacted'),
    attempts: z.number().int().min(0).optional(),
    at: IsoTimeSchema,
    workerId: z.string().min(1),
  })
  .describe('This stream could not be screened (or only partly): an unscreened live stream is itself a risk');

export const DeadLetterReasonSchema = z.enum(['invalid_json', 'schema_invalid', 'subject_mismatch', 'subject_invalid', 'too_large']);

export const DeadLetterEventSchema = z
  .strictObject({
    schemaVersion: SchemaVersionSchema,
    type: z.literal('deadletter'),
    eventId: z.string().min(1),
    subject: z.string().describe('Subject the refused message was published on'),
    reason: DeadLetterReasonSchema,
    issues: z.array(z.string()).describe('Every problem found, so the producer can fix the event in one go'),
    payload: z.string().describe('The original payload (its first 64 KiB)'),
    payloadEncoding: z.enum(['utf8', 'base64']),
    receivedAt: IsoTimeSchema,
    workerId: z.string().min(1),
  })
  .describe('An inbound message that was refused, kept with the reason: never redelivered, never lost');

export const QuarantineEventSchema = z
  .strictObject({
    schemaVersion: SchemaVersionSchema,
    type: z.literal('quarantine'),
    eventId: z.string().min(1).describe('Deterministic id (list, hash, state and when), also the Nats-Msg-Id'),
    state: z
      .enum(['quarantined', 'released'])
      .describe('quarantined: the entry stopped acting; released: an operator put it back into service'),
    list: z.string().min(1).describe('Id of the hash list holding the entry'),
    hash: Hex64Schema.describe("The list entry's PDQ hash"),
    label: z.string().optional(),
    streams: z.number().int().min(0).describe('Distinct streams the entry matched on within the window'),
    streamIds: z.array(z.string()).max(50).describe('Some of those streams (the most recent), for the operator to check'),
    maxStreams: z.number().int().min(1).describe('The threshold: more distinct streams than this within the window quarantines'),
    windowMs: z.number().int().positive(),
    at: IsoTimeSchema,
    by: z.string().min(1).describe('The worker that quarantined the entry, or the operator who released it'),
  })
  .describe('A hash list entry matched on too many streams at once and stopped acting (or was released by an operator)');

export type HashMatch = DeepReadonly<z.output<typeof HashMatchSchema>>;
export type VideoMatch = DeepReadonly<z.output<typeof VideoMatchSchema>>;
export type FrameRef = DeepReadonly<z.output<typeof FrameRefSchema>>;
export type KillSwitchEvent = DeepReadonly<z.output<typeof KillSwitchEventSchema>>;
export type EscalationPriority = z.output<typeof EscalationPrioritySchema>;
export type EscalationReason = DeepReadonly<z.output<typeof EscalationReasonSchema>>;
export type EscalationEvent = DeepReadonly<z.output<typeof EscalationEventSchema>>;
export type ScreeningFailureEvent = DeepReadonly<z.output<typeof ScreeningFailureEventSchema>>;
export type DeadLetterReason = z.output<typeof DeadLetterReasonSchema>;
export type DeadLetterEvent = DeepReadonly<z.output<typeof DeadLetterEventSchema>>;
export type QuarantineEvent = DeepReadonly<z.output<typeof QuarantineEventSchema>>;
export type DecisionPolicy = DeepReadonly<z.output<typeof DecisionPolicySchema>>;
export type KillSwitchReason = z.output<typeof KillSwitchReasonSchema>;
