import { SCHEMA_VERSION, type EnforcementAction } from '../contracts/index.js';
import { enforcementEventId } from '../domain/event-id.js';

export type AuditEntry = Omit<EnforcementAction, 'schemaVersion' | 'type' | 'eventId' | 'at'>;

/**
 * An audit record. Its id is built from what it records (the kill, the action, the attempt), so
 * a record published again after a crash is stored once, and every attempt has its own record.
 */
export function auditRecord(entry: AuditEntry, at: Date): EnforcementAction {
  // What a kill does is identified by the kill; a lift (or an action without a kill) by what and when.
  const basis =
    entry.action !== 'unblock' && entry.killSwitchEventId
      ? [entry.killSwitchEventId]
      : [entry.streamId, entry.blockKeys?.join(',') ?? '', at.toISOString()];
  return {
    schemaVersion: SCHEMA_VERSION,
    type: 'enforcement_action',
    eventId: enforcementEventId(...basis, entry.action, entry.attempt),
    ...entry,
    at: at.toISOString(),
  };
}
