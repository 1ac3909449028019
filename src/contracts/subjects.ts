/**
 * Default subjects and subject prefixes. Prefixes are configurable (config/) so several
 * deployments can share one NATS account; these are the values the AsyncAPI document shows.
 * A per-stream subject is `<prefix>.<streamId>`.
 */
export const SUBJECTS = {
  streamStarted: 'streams.started',
  streamEnded: 'streams.ended',
  killSwitch: 'screening.killswitch',
  escalation: 'screening.escalation',
  failure: 'screening.failure',
  shadow: 'screening.shadow',
  deadLetter: 'screening.deadletter',
  /** One subject: flood quarantine of a hash list entry (and its release). */
  quarantine: 'screening.quarantine',
  /** Escalation cases: `<prefix>.<streamId>`; four tokens, so `screening.escalation.*` (per-frame escalations) never matches them. */
  caseOpened: 'screening.escalation.opened',
  caseUpdated: 'screening.escalation.updated',
  caseClosed: 'screening.escalation.closed',
  reviewDecision: 'screening.review',
  reviewAck: 'screening.reviewed',
  /** One subject: audit records concern streams, cases and reviewers alike. */
  audit: 'screening.audit',
  /** Audit of what the enforcer did at the ingest servers. */
  enforcementAction: 'enforcement.actions',
} as const;

/** KV buckets other deployables read: their entries are contracts too (`$KV.<bucket>.<key>`). */
export const KV_BUCKETS = {
  /** Who publishes each stream (bridge writes, enforcer reads). */
  publishers: 'screening-publishers',
  /** Publishers that may not publish again (enforcer and operators write, bridge reads). */
  blocks: 'screening-blocks',
} as const;

/** `<prefix>.<token>`: the token (stream id, case id) is validated where it is produced. */
export function subjectFor(prefix: string, token: string): string {
  return `${prefix}.${token}`;
}
