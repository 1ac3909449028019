import {
  KillSwitchEventSchema,
  SCHEMA_VERSION,
  type DeadLetterEvent,
  type DeadLetterReason,
  type KillSwitchEvent,
} from '../contracts/index.js';
import { deadLetterEventId } from '../domain/event-id.js';
import type { InvalidMessage, Parsed } from '../nats/index.js';

/** Validation at the edge: a kill-switch must be what the contract says, on its own stream's subject. */
export function parseKillSwitch(subject: string, data: Uint8Array): Parsed<KillSwitchEvent> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch (err) {
    return { ok: false, reason: 'invalid_json', issues: [(err as Error).message] };
  }
  const parsed = KillSwitchEventSchema.safeParse(value);
  if (!parsed.success) {
    return { ok: false, reason: 'schema_invalid', issues: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
  }
  const token = subject.split('.').at(-1);
  if (token !== parsed.data.streamId) {
    return {
      ok: false,
      reason: 'subject_mismatch',
      issues: [`streamId: "${parsed.data.streamId}" is not the subject's last token "${token}"`],
    };
  }
  return { ok: true, value: parsed.data };
}

/** Kill-switches are small; a dead letter keeps the first 64 KiB of whatever arrived. */
const KEEP_BYTES = 64 * 1024;

export function deadLetterFor(m: InvalidMessage, by: string, at = new Date()): DeadLetterEvent {
  const kept = m.data.subarray(0, KEEP_BYTES);
  let payload: string;
  let payloadEncoding: 'utf8' | 'base64';
  try {
    payload = new TextDecoder('utf-8', { fatal: true }).decode(kept);
    payloadEncoding = 'utf8';
  } catch {
    payload = Buffer.from(kept).toString('base64');
    payloadEncoding = 'base64';
  }
  return {
    schemaVersion: SCHEMA_VERSION,
    type: 'deadletter',
    eventId: deadLetterEventId(m.stream, m.seq),
    subject: m.subject,
    reason: m.reason as DeadLetterReason,
    issues: [...m.issues],
    payload,
    payloadEncoding,
    receivedAt: at.toISOString(),
    workerId: by,
  };
}
