import type { z } from 'zod';
import { CaseClosedSchema, CaseOpenedSchema, CaseUpdatedSchema } from './cases.js';
import { BlockRecordSchema, EnforcementActionSchema, PublisherRecordSchema } from './enforcement.js';
import { AuditRecordSchema, ReviewAckSchema, ReviewDecisionSchema } from './review.js';
import {
  DeadLetterEventSchema,
  EscalationEventSchema,
  KillSwitchEventSchema,
  QuarantineEventSchema,
  ScreeningFailureEventSchema,
} from './screening-events.js';
import { StreamEndedSchema, StreamStartedSchema } from './stream-events.js';
import { sharedStreams } from './streams.js';
import { KV_BUCKETS, SUBJECTS } from './subjects.js';

/** One subject on the wire: the single list the AsyncAPI document and the tests are made from. */
export interface ChannelContract {
  /** Channel id in the AsyncAPI document. */
  readonly id: string;
  /** Subject with `{param}` placeholders for its variable tokens (default prefixes). */
  readonly address: string;
  readonly parameters: Readonly<Record<string, string>>;
  /** Message/schema name in the document. */
  readonly message: string;
  readonly schema: z.ZodType;
  /** From streamscreen's side: it `receive`s what platforms publish and `send`s what it decides. */
  readonly action: 'send' | 'receive';
  /** JetStream stream that stores the subject (absent for drafts not provisioned yet). */
  readonly stream?: string;
  readonly producer: string;
  readonly draft: boolean;
  readonly description: string;
}

const streamId = { streamId: "The stream id, equal to the payload's streamId" } as const;
const { cases, review, audit } = sharedStreams();
const CASES_STREAM = cases.name;
const REVIEW_STREAM = review.name;
const AUDIT_STREAM = audit.name;

export const CHANNELS: readonly ChannelContract[] = [
  {
    id: 'streamStarted',
    address: `${SUBJECTS.streamStarted}.{streamId}`,
    parameters: streamId,
    message: 'StreamStarted',
    schema: StreamStartedSchema,
    action: 'receive',
    stream: 'SCREENING_STARTS',
    producer: 'the platform (or the bridge, from ingest webhooks)',
    draft: false,
    description: 'A live stream started. Work-queue stream, one message per subject: a re-announce replaces the queued start.',
  },
  {
    id: 'streamEnded',
    address: `${SUBJECTS.streamEnded}.{streamId}`,
    parameters: streamId,
    message: 'StreamEnded',
    schema: StreamEndedSchema,
    action: 'receive',
    stream: 'SCREENING_ENDS',
    producer: 'the platform (or the bridge)',
    draft: false,
    description: 'A live stream ended. Every worker follows these; a start older than the last end is skipped.',
  },
  {
    id: 'killSwitch',
    address: `${SUBJECTS.killSwitch}.{streamId}`,
    parameters: streamId,
    message: 'KillSwitch',
    schema: KillSwitchEventSchema,
    action: 'send',
    stream: 'SCREENING_DECISIONS',
    producer: 'worker',
    draft: false,
    description: 'Stop this stream now. Nats-Msg-Id is the eventId (1 h dedupe window).',
  },
  {
    id: 'escalation',
    address: `${SUBJECTS.escalation}.{streamId}`,
    parameters: streamId,
    message: 'Escalation',
    schema: EscalationEventSchema,
    action: 'send',
    stream: 'SCREENING_DECISIONS',
    producer: 'worker',
    draft: false,
    description: 'Human review needed, with a priority. Nats-Msg-Id is the eventId.',
  },
  {
    id: 'shadowKillSwitch',
    address: `${SUBJECTS.shadow}.killswitch.{streamId}`,
    parameters: streamId,
    message: 'KillSwitch',
    schema: KillSwitchEventSchema,
    action: 'send',
    stream: 'SCREENING_DECISIONS',
    producer: 'worker (policy.mode shadow)',
    draft: false,
    description: 'What a shadow policy would have stopped (shadow: true); never acted on.',
  },
  {
    id: 'shadowEscalation',
    address: `${SUBJECTS.shadow}.escalation.{streamId}`,
    parameters: streamId,
    message: 'Escalation',
    schema: EscalationEventSchema,
    action: 'send',
    stream: 'SCREENING_DECISIONS',
    producer: 'worker (policy.mode shadow)',
    draft: false,
    description: 'What a shadow policy would have escalated (shadow: true); never acted on.',
  },
  {
    id: 'failure',
    address: `${SUBJECTS.failure}.{streamId}`,
    parameters: streamId,
    message: 'ScreeningFailure',
    schema: ScreeningFailureEventSchema,
    action: 'send',
    stream: 'SCREENING_DECISIONS',
    producer: 'worker',
    draft: false,
    description: 'The stream could not be screened, or only partly (classifiers failing, hash checks go on).',
  },
  {
    id: 'deadLetter',
    address: SUBJECTS.deadLetter,
    parameters: {},
    message: 'DeadLetter',
    schema: DeadLetterEventSchema,
    action: 'send',
    stream: 'SCREENING_DEADLETTER',
    producer: 'worker',
    draft: false,
    description: 'An inbound event that was refused, with every issue and the original payload.',
  },
  {
    id: 'quarantine',
    address: SUBJECTS.quarantine,
    parameters: {},
    message: 'Quarantine',
    schema: QuarantineEventSchema,
    action: 'send',
    stream: 'SCREENING_DECISIONS',
    producer: 'worker (quarantined), streamscreen hashlist release (released)',
    draft: false,
    description:
      'A list entry matched on more distinct streams than hash.quarantine.maxStreams within its window and stopped acting (its matches are still counted), or an operator released it. Nats-Msg-Id is the eventId.',
  },
  {
    id: 'caseOpened',
    address: `${SUBJECTS.caseOpened}.{streamId}`,
    parameters: streamId,
    message: 'CaseOpened',
    schema: CaseOpenedSchema,
    action: 'send',
    stream: CASES_STREAM,
    producer: 'worker',
    draft: false,
    description:
      'An escalation case opened: one per stream and reason class. Every case event carries the whole case (not a delta) and a revision; keep the highest. Nats-Msg-Id is the eventId.',
  },
  {
    id: 'caseUpdated',
    address: `${SUBJECTS.caseUpdated}.{streamId}`,
    parameters: streamId,
    message: 'CaseUpdated',
    schema: CaseUpdatedSchema,
    action: 'send',
    stream: CASES_STREAM,
    producer: 'worker',
    draft: false,
    description: 'An open case changed: later frames with the same reason, evidence attached, priority changed, a kill-switch fired.',
  },
  {
    id: 'caseClosed',
    address: `${SUBJECTS.caseClosed}.{streamId}`,
    parameters: streamId,
    message: 'CaseClosed',
    schema: CaseClosedSchema,
    action: 'send',
    stream: CASES_STREAM,
    producer: 'worker',
    draft: false,
    description: 'A case closed: the stream ended or a review decision closed it.',
  },
  {
    id: 'reviewDecision',
    address: `${SUBJECTS.reviewDecision}.{streamId}`,
    parameters: streamId,
    message: 'ReviewDecision',
    schema: ReviewDecisionSchema,
    action: 'send',
    stream: REVIEW_STREAM,
    producer: 'review console, streamscreen review',
    draft: false,
    description:
      'A reviewer decided a case. Nats-Msg-Id is the decisionId; the worker holding the stream applies it once and answers on reviewAck.',
  },
  {
    id: 'reviewAck',
    address: `${SUBJECTS.reviewAck}.{streamId}`,
    parameters: streamId,
    message: 'ReviewAck',
    schema: ReviewAckSchema,
    action: 'send',
    stream: REVIEW_STREAM,
    producer: 'worker',
    draft: false,
    description: 'A review decision was applied, was a duplicate, or was refused; carries the resulting case state.',
  },
  {
    id: 'audit',
    address: SUBJECTS.audit,
    parameters: {},
    message: 'AuditRecord',
    schema: AuditRecordSchema,
    action: 'send',
    stream: AUDIT_STREAM,
    producer: 'review console, worker, streamscreen evidence',
    draft: false,
    description: 'Who did what, when, on which case: decisions submitted and applied, reads of clear and preserved evidence.',
  },
  {
    id: 'enforcementAction',
    address: `${SUBJECTS.enforcementAction}.{streamId}`,
    parameters: streamId,
    message: 'EnforcementAction',
    schema: EnforcementActionSchema,
    action: 'send',
    stream: 'ENFORCEMENT_AUDIT',
    producer: 'enforcer, and operators through `streamscreen block lift`',
    draft: false,
    description: 'Audit: every kick call, block and lift with its result, one message per attempt. Nats-Msg-Id is the eventId.',
  },
  {
    id: 'publisherRecord',
    address: `$KV.${KV_BUCKETS.publishers}.{streamId}`,
    parameters: streamId,
    message: 'PublisherRecord',
    schema: PublisherRecordSchema,
    action: 'send',
    stream: `KV_${KV_BUCKETS.publishers}`,
    producer: 'bridge',
    draft: false,
    description: `KV bucket ${KV_BUCKETS.publishers}, key = stream id: who publishes the stream (ingest, connection, address), for the kick call and evidence. Holds the stream name, which is often the stream key: restrict read access.`,
  },
  {
    id: 'blockRecord',
    address: `$KV.${KV_BUCKETS.blocks}.{blockKey}`,
    parameters: { blockKey: '<scope>-<first 32 hex digits of sha256(scope, value)>, scope key, stream or ip' },
    message: 'BlockRecord',
    schema: BlockRecordSchema,
    action: 'send',
    stream: `KV_${KV_BUCKETS.blocks}`,
    producer: 'enforcer, and operators',
    draft: false,
    description: `KV bucket ${KV_BUCKETS.blocks}: a publisher denied re-publish; the bridge refuses its on_publish while the block is in force. A delete lifts it.`,
  },
];

/** The contract of a concrete subject (default prefixes), or undefined when no channel matches. */
export function channelForSubject(subject: string): ChannelContract | undefined {
  return CHANNELS.find((c) => addressPattern(c.address).test(subject));
}

function addressPattern(address: string): RegExp {
  const escaped = address.replace(/[.$^*+?()[\]|\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^.]+');
  return new RegExp(`^${escaped}$`);
}
