import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { nanos } from '@nats-io/transport-node';
import { SUBJECTS } from '../../contracts/index.js';
import type { Logger } from '../../domain/logger.js';
import { ensureKv, ensureStream } from '../../nats/index.js';
import type { PublisherOptions } from '../../config/index.js';

/**
 * Outbound streams. Limits retention (consumers downstream read at their own pace; nothing is
 * lost when nobody listens yet), file storage (a decision must survive a server restart) and a
 * dedupe window so `Nats-Msg-Id` retries store each event once. Discard `new` is not used: when
 * a stream is full the oldest decisions go, never the one being published now.
 */
export async function provisionDecisionStreams(jsm: JetStreamManager, o: PublisherOptions, logger?: Logger): Promise<void> {
  await ensureStream(
    jsm,
    {
      name: o.decisionsStream,
      subjects: [
        `${o.killSwitchSubjectPrefix}.*`,
        `${o.escalationSubjectPrefix}.*`,
        `${o.failureSubjectPrefix}.*`,
        `${o.shadowSubjectPrefix}.killswitch.*`,
        `${o.shadowSubjectPrefix}.escalation.*`,
        SUBJECTS.quarantine,
      ],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: nanos(o.decisionsMaxAgeMs),
      duplicate_window: nanos(o.duplicateWindowMs),
      num_replicas: o.replicas,
    },
    logger,
  );
  await ensureStream(
    jsm,
    {
      name: o.deadLetterStream,
      subjects: [o.deadLetterSubject],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: nanos(o.deadLetterMaxAgeMs),
      duplicate_window: nanos(o.duplicateWindowMs),
      num_replicas: o.replicas,
    },
    logger,
  );
}

/**
 * Per-stream policy state (cooldowns), read by whichever worker holds the stream. History 1: only
 * the latest matters; max_age so state of streams long gone goes by itself.
 */
export async function ensurePolicyStateBucket(js: JetStreamClient, o: PublisherOptions, logger?: Logger): Promise<KV> {
  return ensureKv(
    js,
    {
      name: o.policyStateBucket,
      history: 1,
      ttl: o.policyStateTtlMs,
      storage: StorageType.File,
      replicas: o.replicas,
      description: 'streamscreen: when each stream last got a kill-switch or escalation (cooldowns across handovers)',
    },
    logger,
  );
}
