import {
  blockActive,
  blockKey,
  SCHEMA_VERSION,
  streamKeyValue,
  type BlockRecord,
  type BlockScope,
  type EnforcementAction,
  type KillSwitchEvent,
  type PublisherRecord,
} from '../contracts/index.js';
import type { IngestConfig } from '../config/index.js';
import type { Emitter } from '../domain/hooks.js';
import type { Logger } from '../domain/logger.js';
import { backoffDelay } from '../domain/retry.js';
import { auditRecord, type AuditEntry } from './audit.js';
import type { EnforcerEvents } from './events.js';
import type { KickClient, KickOutcome } from './kick/index.js';

/** What becomes of the kill-switch message (the NATS kit's Settlement). */
export type KillSettlement =
  | { readonly kind: 'ack' }
  | { readonly kind: 'nak'; readonly delayMs: number; readonly reason: string }
  | { readonly kind: 'term'; readonly reason: string };

export interface EnforcerSettings {
  readonly enforcerId: string;
  readonly blockMs: number;
  readonly hashKillsPermanent: boolean;
  readonly blockScopes: readonly BlockScope[];
  readonly kickTimeoutMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
}

/** The enforcer's collaborators: KV, the audit stream, the kick clients. */
export interface EnforcerPorts {
  /** The bridge's record of who publishes the stream (latest revision). */
  publisher(streamId: string): Promise<PublisherRecord | undefined>;
  block(key: string): Promise<BlockRecord | undefined>;
  putBlock(block: BlockRecord): Promise<void>;
  /** Durable: resolves once the audit stream stored it. */
  audit(action: EnforcementAction): Promise<void>;
  /** Kill-switch event ids already carried out (idempotency across redeliveries and replicas). */
  isDone(killSwitchEventId: string): Promise<boolean>;
  markDone(killSwitchEventId: string): Promise<void>;
  ingest(id: string): IngestConfig | undefined;
  kickClient(kind: IngestConfig['kind']): KickClient;
}

export interface EnforcerDeps {
  readonly settings: EnforcerSettings;
  readonly ports: EnforcerPorts;
  readonly logger: Logger;
  readonly events: Emitter<EnforcerEvents>;
  readonly now?: () => number;
}

/**
 * Carries out one kill-switch: blocks the publisher first (so the encoder's reconnect is refused
 * however fast it comes), then has the ingest drop it. Acked only when the ingest confirmed the
 * drop or has no such publisher; a failed call is audited and retried with backoff; a call that
 * can never work (no control API configured, a 4xx) is audited and given up. Every step is in
 * the audit stream; a kill already carried out is acked without acting again.
 */
export function createKillEnforcer(deps: EnforcerDeps): (event: KillSwitchEvent, deliveryCount: number) => Promise<KillSettlement> {
  const { settings: s, ports } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ component: 'enforcer' });

  const audit = async (entry: Omit<AuditEntry, 'by' | 'reason'>): Promise<void> => {
    await ports.audit(auditRecord({ reason: 'killswitch', by: s.enforcerId, ...entry }, new Date(now())));
    deps.events.emit('action', { action: entry.action, result: entry.result });
  };

  const writeBlocks = async (event: KillSwitchEvent, record: PublisherRecord): Promise<string[]> => {
    const at = now();
    const permanent = s.hashKillsPermanent && event.reason === 'hash_match';
    const expiresAt = permanent ? null : new Date(at + s.blockMs).toISOString();
    const values: Partial<Record<BlockScope, { value: string; display: string }>> = {
      key: { value: streamKeyValue(record.target), display: `${record.target.app ? `${record.target.app}/` : ''}${record.nameRedacted}` },
      stream: { value: record.streamId, display: record.streamId },
      ...(record.target.publisherIp ? { ip: { value: record.target.publisherIp, display: record.target.publisherIp } } : {}),
    };
    const written: string[] = [];
    await Promise.all(
      s.blockScopes.map(async (scope) => {
        const v = values[scope];
        if (!v) return;
        const key = blockKey(scope, v.value);
        const existing = await ports.block(key);
        // A block already in force for at least as long stays as it is (an operator's permanent block is never shortened).
        if (
          existing &&
          blockActive(existing, at) &&
          (existing.expiresAt === null || (expiresAt !== null && existing.expiresAt >= expiresAt))
        ) {
          written.push(key);
          return;
        }
        await ports.putBlock({
          schemaVersion: SCHEMA_VERSION,
          type: 'block',
          key,
          scope,
          display: v.display,
          streamId: record.streamId,
          reason: 'killswitch',
          killSwitchEventId: event.eventId,
          list: event.match.list,
          createdAt: new Date(at).toISOString(),
          expiresAt,
          createdBy: s.enforcerId,
        });
        written.push(key);
      }),
    );
    return written.sort();
  };

  return async (event, deliveryCount) => {
    const attempt = Math.max(1, deliveryCount);
    const base = { streamId: event.streamId, killSwitchEventId: event.eventId, attempt };
    if (event.shadow) {
      await audit({ ...base, action: 'skip', result: 'skipped', willRetry: false, detail: 'shadow kill-switch: never acted on' });
      return { kind: 'ack' };
    }
    if (await ports.isDone(event.eventId)) return { kind: 'ack' };

    const record = await ports.publisher(event.streamId);
    if (!record) {
      log.warn(
        { streamId: event.streamId, eventId: event.eventId },
        'kill-switch for a stream the bridge did not announce: nothing to kick',
      );
      await audit({
        ...base,
        action: 'skip',
        result: 'skipped',
        willRetry: false,
        detail: 'no publisher record: the stream was not announced by the bridge',
      });
      await ports.markDone(event.eventId);
      return { kind: 'ack' };
    }
    const target = {
      ...(record.target.app ? { app: record.target.app } : {}),
      nameRedacted: record.nameRedacted,
      ...(record.target.clientId ? { clientId: record.target.clientId } : {}),
      ...(record.target.connectionId ? { connectionId: record.target.connectionId } : {}),
      ...(record.target.protocol ? { protocol: record.target.protocol } : {}),
      ...(record.target.publisherIp ? { publisherIp: record.target.publisherIp } : {}),
    };
    const on = { ...base, ingest: record.ingest, target };

    const blockKeys = await writeBlocks(event, record);
    const ingest = ports.ingest(record.ingest.id);
    const outcome: KickOutcome = ingest
      ? await ports
          .kickClient(ingest.kind)
          .kick(
            { ingest, streamId: event.streamId, target: record.target, killSwitchEventId: event.eventId },
            AbortSignal.timeout(s.kickTimeoutMs),
          )
      : { kind: 'failed', retryable: false, detail: `ingest '${record.ingest.id}' is not in this enforcer's configuration` };
    await Promise.all([
      audit({ ...on, action: 'block', result: 'done', willRetry: false, blockKeys }),
      audit({
        ...on,
        action: 'disconnect',
        result: outcome.kind === 'failed' ? 'failed' : outcome.kind,
        willRetry: outcome.kind === 'failed' && outcome.retryable,
        detail: outcome.detail,
      }),
    ]);
    if (outcome.kind === 'failed') {
      if (outcome.retryable) {
        const delayMs = backoffDelay(attempt, s.retryBaseMs, s.retryMaxMs);
        if (attempt <= 3 || attempt % 10 === 0)
          log.warn({ streamId: event.streamId, attempt, retryInMs: delayMs, detail: outcome.detail }, 'kick failed; retrying');
        return { kind: 'nak', delayMs, reason: outcome.detail };
      }
      log.error(
        { streamId: event.streamId, detail: outcome.detail },
        'kick can never succeed as configured; the block stays, the publisher was not dropped',
      );
      return { kind: 'term', reason: outcome.detail };
    }
    await ports.markDone(event.eventId);
    deps.events.emit('enforced', { seconds: Math.max(0, now() - Date.parse(event.decidedAt)) / 1000 });
    log.info({ streamId: event.streamId, result: outcome.kind, detail: outcome.detail, blockKeys }, 'kill-switch enforced');
    return { kind: 'ack' };
  };
}
