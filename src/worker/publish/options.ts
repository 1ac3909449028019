import { ConfigError } from '../../domain/errors.js';
import { withDefaults } from '../../domain/options.js';

/** Outbound subjects and streams. Defaults in DEFAULT_PUBLISHER_OPTIONS. */
export interface PublisherOptions {
  /** Stream holding kill-switch, escalation and failure events. Default `SCREENING_DECISIONS`. */
  readonly decisionsStream: string;
  /** Subject prefixes; the stream id is appended as the last token. */
  readonly killSwitchSubjectPrefix: string; // default `screening.killswitch`
  readonly escalationSubjectPrefix: string; // default `screening.escalation`
  readonly failureSubjectPrefix: string; // default `screening.failure`
  /** Shadow-mode kill-switches/escalations go to `<prefix>.killswitch.<id>` / `<prefix>.escalation.<id>`. Default `screening.shadow`. */
  readonly shadowSubjectPrefix: string;
  /** Default `SCREENING_DEADLETTER` on subject `screening.deadletter`. */
  readonly deadLetterStream: string;
  readonly deadLetterSubject: string;
  /**
   * JetStream dedupe window for `Nats-Msg-Id`. Default 1 h: a retry can follow a long outage,
   * and an id remembered too briefly would let such a retry store the event twice.
   */
  readonly duplicateWindowMs: number;
  /** Retention. Defaults: decisions 7 days, dead letters 14 days. */
  readonly decisionsMaxAgeMs: number;
  readonly deadLetterMaxAgeMs: number;
  /** How long one attempt waits for the PubAck. Default 5000. */
  readonly publishTimeoutMs: number;
  /** Retry backoff (domain/retry.ts): doubling from the first delay up to the cap, each delay drawn from [d/2, d]. Defaults 100 / 5000. */
  readonly retryInitialDelayMs: number;
  readonly retryMaxDelayMs: number;
  /**
   * When a publish finds no stream for its subject (deleted by an operator, fresh server), create
   * the outbound streams and go on retrying. Default true.
   */
  readonly provisionOnMissingStream: boolean;
}

export const DEFAULT_PUBLISHER_OPTIONS: PublisherOptions = {
  decisionsStream: 'SCREENING_DECISIONS',
  killSwitchSubjectPrefix: 'screening.killswitch',
  escalationSubjectPrefix: 'screening.escalation',
  failureSubjectPrefix: 'screening.failure',
  shadowSubjectPrefix: 'screening.shadow',
  deadLetterStream: 'SCREENING_DEADLETTER',
  deadLetterSubject: 'screening.deadletter',
  duplicateWindowMs: 60 * 60 * 1000,
  decisionsMaxAgeMs: 7 * 24 * 60 * 60 * 1000,
  deadLetterMaxAgeMs: 14 * 24 * 60 * 60 * 1000,
  publishTimeoutMs: 5000,
  retryInitialDelayMs: 100,
  retryMaxDelayMs: 5000,
  provisionOnMissingStream: true,
};

export function resolvePublisherOptions(partial: Partial<PublisherOptions> = {}): PublisherOptions {
  const o: PublisherOptions = withDefaults(DEFAULT_PUBLISHER_OPTIONS, partial);
  const issues: string[] = [];
  for (const key of [
    'duplicateWindowMs',
    'decisionsMaxAgeMs',
    'deadLetterMaxAgeMs',
    'publishTimeoutMs',
    'retryInitialDelayMs',
    'retryMaxDelayMs',
  ] as const) {
    if (!Number.isFinite(o[key]) || o[key] <= 0) issues.push(`${key} must be a positive number of milliseconds (got ${o[key]})`);
  }
  if (o.retryMaxDelayMs < o.retryInitialDelayMs) issues.push('retryMaxDelayMs must be >= retryInitialDelayMs');
  // JetStream refuses a dedupe window longer than the retention.
  if (o.duplicateWindowMs > Math.min(o.decisionsMaxAgeMs, o.deadLetterMaxAgeMs)) {
    issues.push('duplicateWindowMs must not exceed decisionsMaxAgeMs or deadLetterMaxAgeMs');
  }
  for (const key of [
    'killSwitchSubjectPrefix',
    'escalationSubjectPrefix',
    'failureSubjectPrefix',
    'shadowSubjectPrefix',
    'deadLetterSubject',
  ] as const) {
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(o[key])) issues.push(`${key} must be a literal NATS subject (got "${o[key]}")`);
  }
  for (const key of ['decisionsStream', 'deadLetterStream'] as const) {
    if (!/^[A-Za-z0-9_-]+$/.test(o[key])) issues.push(`${key} must be a JetStream stream name (got "${o[key]}")`);
  }
  if (issues.length > 0) throw new ConfigError('invalid publisher options', issues);
  return o;
}
