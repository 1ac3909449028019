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
  /**
   * Kill-switches already carried out (idempotency across redeliveries and replicas), with the
   * audit records of the outcome: a copy that finds the marker publishes them again (their ids
   * dedupe), so a crash between marking and auditing loses no audit record.
   */
  done(killSwitchEventId: string): Promise<readonly EnforcementAction[] | undefined>;
  markDone(killSwitchEventId: string, audit: readonly EnforcementAction[]): Promise<void>;
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

  const record = (entry: Omit<AuditEntry, 'by' | 'reason'>): EnforcementAction =>
    auditRecord({ reason: 'killswitch', by: s.enforcerId, ...entry }, new Date(now()));
  const publish = async (records: readonly EnforcementAction[]): Promise<void> => {
    await Promise.all(records.map((r) => ports.audit(r)));
    for (const r of records) deps.events.emit('action', { action: r.action, result: r.result });
  };
  /** Copies of one kill handled by this process at once: the later ones wait for the first. */
  const inFlight = new Set<string>();

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
          // Only a hash-match kill names a list (review_confirmed and fail_closed kills have none).
          ...(event.match ? { list: event.match.list } : {}),
          createdAt: new Date(at).toISOString(),
          expiresAt,
          createdBy: s.enforcerId,
        });
        written.push(key);
      }),
    );
    return written.sort();
  };

  const enforce = async (event: KillSwitchEvent, attempt: number): Promise<KillSettlement> => {
    const base = { streamId: event.streamId, killSwitchEventId: event.eventId, attempt };
    if (event.shadow) {
      await publish([
        record({ ...base, action: 'skip', result: 'skipped', willRetry: false, detail: 'shadow kill-switch: never acted on' }),
      ]);
      return { kind: 'ack' };
    }
    const done = await ports.done(event.eventId);
    if (done) {
      await publish(done);
      return { kind: 'ack' };
    }

    const publisher = await ports.publisher(event.streamId);
    if (!publisher) {
      log.warn(
        { streamId: event.streamId, eventId: event.eventId },
        'kill-switch for a stream the bridge did not announce: nothing to kick',
      );
      const skipped = [
        record({
          ...base,
          action: 'skip',
          result: 'skipped',
          willRetry: false,
          detail: 'no publisher record: the stream was not announced by the bridge',
        }),
      ];
      await ports.markDone(event.eventId, skipped);
      await publish(skipped);
      return { kind: 'ack' };
    }
    const target = {
      ...(publisher.target.app ? { app: publisher.target.app } : {}),
      nameRedacted: publisher.nameRedacted,
      ...(publisher.target.clientId ? { clientId: publisher.target.clientId } : {}),
      ...(publisher.target.connectionId ? { connectionId: publisher.target.connectionId } : {}),
      ...(publisher.target.protocol ? { protocol: publisher.target.protocol } : {}),
      ...(publisher.target.publisherIp ? { publisherIp: publisher.target.publisherIp } : {}),
    };
    const on = { ...base, ingest: publisher.ingest, target };

    const blockKeys = await writeBlocks(event, publisher);
    const ingest = ports.ingest(publisher.ingest.id);
    const outcome: KickOutcome = ingest
      ? await ports
          .kickClient(ingest.kind)
          .kick(
            { ingest, streamId: event.streamId, target: publisher.target, killSwitchEventId: event.eventId },
            AbortSignal.timeout(s.kickTimeoutMs),
          )
      : { kind: 'failed', retryable: false, detail: `ingest '${publisher.ingest.id}' is not in this enforcer's configuration` };
    const audits = [
      record({ ...on, action: 'block', result: 'done', willRetry: false, blockKeys }),
      record({
        ...on,
        action: 'disconnect',
        result: outcome.kind === 'failed' ? 'failed' : outcome.kind,
        willRetry: outcome.kind === 'failed' && outcome.retryable,
        detail: outcome.detail,
      }),
    ];
    if (outcome.kind === 'failed') {
      await publish(audits);
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
    // Marked before the audit is published: a copy arriving meanwhile acts no more, and publishes the same records.
    await ports.markDone(event.eventId, audits);
    await publish(audits);
    deps.events.emit('enforced', { seconds: Math.max(0, now() - Date.parse(event.decidedAt)) / 1000 });
    log.info({ streamId: event.streamId, result: outcome.kind, detail: outcome.detail, blockKeys }, 'kill-switch enforced');
    return { kind: 'ack' };
  };

  return async (event, deliveryCount) => {
    if (inFlight.has(event.eventId))
      return { kind: 'nak', delayMs: 1_000, reason: 'another copy of this kill-switch is being carried out' };
    inFlight.add(event.eventId);
    try {
      return await enforce(event, Math.max(1, deliveryCount));
    } finally {
      inFlight.delete(event.eventId);
    }
  };
}
