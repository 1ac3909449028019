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
  quarantine: 'screening.quarantine',
  /** Drafts (roadmap): not yet published by anything. */
  reviewDecision: 'review.decisions',
  evidenceRef: 'evidence.refs',
  enforcementAction: 'enforcement.actions',
} as const;

/** `<prefix>.<token>`: the token (stream id, case id) is validated where it is produced. */
export function subjectFor(prefix: string, token: string): string {
  return `${prefix}.${token}`;
}
