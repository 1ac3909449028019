import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { SUBJECTS } from '../contracts/index.js';
import type { Logger } from '../domain/logger.js';
import { ensureStream } from '../nats/index.js';

export const AUDIT_STREAM = 'ENFORCEMENT_AUDIT';

/** Dedupe window of audit publishes: as long as the decisions' (a retry can follow a long outage). */
const DUPLICATE_WINDOW_MS = 60 * 60 * 1000;

/** The audit stream: limits retention for auditMaxAgeMs, file storage, old entries go first when full. */
export async function ensureAuditStream(jsm: JetStreamManager, maxAgeMs: number, logger: Logger): Promise<void> {
  await ensureStream(
    jsm,
    {
      name: AUDIT_STREAM,
      subjects: [`${SUBJECTS.enforcementAction}.*`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: nanos(maxAgeMs),
      duplicate_window: nanos(Math.min(DUPLICATE_WINDOW_MS, maxAgeMs)),
    },
    logger,
  );
}
