import { KV_BUCKETS, SCHEMA_VERSION, SUBJECTS, subjectFor, type BlockRecord, type PublisherRecord } from '../contracts/index.js';
import type { IngestConfig } from '../config/index.js';
import { streamEventId } from '../domain/event-id.js';
import type { Emitter } from '../domain/hooks.js';
import type { Logger } from '../domain/logger.js';
import { blockKeysFor } from './block-keys.js';
import type { BridgeEvents, HookOutcome } from './events.js';
import type { HookCall, HookVerdict } from './hooks/index.js';
import type { Outbox, OutboxEntry } from './outbox.js';
import { identify } from './stream-identity.js';

/** The blocks in force, as the bridge last saw them (a KV follower keeps them current). */
export interface BlockView {
  /** False until the bucket has been read once. */
  readonly loaded: boolean;
  /** The first block in force among these keys. */
  find(keys: readonly string[], nowMs: number): BlockRecord | undefined;
}

export interface BridgeDeps {
  readonly failMode: 'open' | 'closed';
  readonly natsTimeoutMs: number;
  /** Publishes one entry and resolves once JetStream acked it (rejects when the signal aborts). */
  send(entry: OutboxEntry, signal: AbortSignal): Promise<void>;
  readonly outbox: Outbox;
  readonly blocks: BlockView;
  readonly logger: Logger;
  readonly events: Emitter<BridgeEvents>;
  readonly now?: () => number;
}

export interface HookResult {
  readonly verdict: HookVerdict;
  readonly outcome: HookOutcome;
  readonly streamId?: string;
}

export interface Bridge {
  handle(ingest: IngestConfig, hook: HookCall): Promise<HookResult>;
}

/**
 * The bridge's decisions, free of HTTP and of any ingest's format. A publish is refused when a
 * block covers its key, stream id or address; otherwise its publisher record and its start go
 * to JetStream and it is allowed. When NATS does not ack in time, `open` queues both in the
 * outbox and allows, `closed` refuses (and queues an end, so a start that still lands late is
 * closed). Ends are never refused; they are queued when NATS is away. A stream with entries in
 * the outbox has its next events queued behind them: the workers order starts and ends by when
 * JetStream stored them.
 */
export function createBridge(deps: BridgeDeps): Bridge {
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ component: 'bridge' });
  /** Records of the streams this bridge started, to mark their end (best effort: lost on restart). */
  const records = new Map<string, PublisherRecord>();

  const sendAll = async (entries: readonly OutboxEntry[]): Promise<void> => {
    const signal = AbortSignal.timeout(deps.natsTimeoutMs);
    await Promise.all(entries.map((e) => deps.send(e, signal)));
  };

  const deliver = async (entries: readonly OutboxEntry[], streamId: string): Promise<'sent' | 'failed'> => {
    if (!deps.outbox.holds(streamId)) {
      try {
        await sendAll(entries);
        return 'sent';
      } catch (err) {
        log.warn({ err, streamId }, 'NATS did not take the stream event in time');
      }
    }
    return 'failed';
  };

  const queue = async (entries: readonly OutboxEntry[]): Promise<void> => {
    await deps.outbox.append(entries);
    deps.events.emit('outbox', { batches: deps.outbox.size });
  };

  const publish = async (ingest: IngestConfig, hook: Extract<HookCall, { call: 'publish' }>): Promise<HookResult> => {
    const id = identify(ingest, hook.target, hook.args);
    if (!id.ok) {
      log.error({ ingest: ingest.id, issues: id.issues }, 'cannot name this publish: refused');
      return { verdict: { allow: false, reason: 'invalid', detail: id.issues.join('; ') }, outcome: 'invalid' };
    }
    const { streamId } = id.value;
    const at = now();
    if (!deps.blocks.loaded && deps.failMode === 'closed') {
      return { verdict: { allow: false, reason: 'unavailable', detail: 'block list not loaded yet' }, outcome: 'unavailable', streamId };
    }
    const block = deps.blocks.find(blockKeysFor(hook.target, streamId), at);
    if (block) {
      log.warn({ ingest: ingest.id, streamId, block: block.key, scope: block.scope, since: block.createdAt }, 'blocked publisher refused');
      const until = block.expiresAt === null ? 'until lifted' : `until ${block.expiresAt}`;
      return { verdict: { allow: false, reason: 'blocked', detail: `${block.scope} blocked ${until}` }, outcome: 'blocked', streamId };
    }
    const startedAt = new Date(at).toISOString();
    const startEventId = streamEventId('start');
    const record: PublisherRecord = {
      schemaVersion: SCHEMA_VERSION,
      type: 'publisher',
      streamId,
      ingest: { id: ingest.id, kind: ingest.kind },
      target: hook.target,
      nameRedacted: id.value.nameRedacted,
      urlRedacted: id.value.urlRedacted,
      startEventId,
      startedAt,
    };
    const start = {
      schemaVersion: SCHEMA_VERSION,
      streamId,
      url: id.value.url,
      startedAt,
      // Platform metadata, carried into every decision about the stream: no secrets, no address.
      ingest: { id: ingest.id, kind: ingest.kind, ...(hook.target.app ? { app: hook.target.app } : {}), stream: id.value.nameRedacted },
    };
    const entries: OutboxEntry[] = [
      recordEntry(record, `rec-${startEventId}`),
      {
        subject: subjectFor(SUBJECTS.streamStarted, streamId),
        type: 'stream_started',
        eventId: startEventId,
        payload: JSON.stringify(start),
        streamId,
      },
    ];
    records.set(streamId, record);
    // Ends may reach another replica: keep the newest records only, so the map cannot grow without bound.
    if (records.size > MAX_REMEMBERED) records.delete(records.keys().next().value!);
    if ((await deliver(entries, streamId)) === 'sent') return { verdict: { allow: true }, outcome: 'allowed', streamId };
    if (deps.failMode === 'open') {
      await queue(entries);
      log.warn({ streamId }, 'allowed while NATS is away: start queued in the outbox');
      return { verdict: { allow: true }, outcome: 'queued', streamId };
    }
    // Closed: refuse; whatever part of the start reached JetStream is ended again.
    await queue([endEntry(streamId, new Date(now()).toISOString())]);
    records.delete(streamId);
    return { verdict: { allow: false, reason: 'unavailable', detail: 'screening is unavailable' }, outcome: 'unavailable', streamId };
  };

  const unpublish = async (ingest: IngestConfig, hook: Extract<HookCall, { call: 'unpublish' }>): Promise<HookResult> => {
    const id = identify(ingest, hook.target, hook.args);
    if (!id.ok) {
      log.error({ ingest: ingest.id, issues: id.issues }, 'cannot name the stream that ended');
      return { verdict: { allow: true }, outcome: 'invalid' };
    }
    const { streamId } = id.value;
    const endedAt = new Date(now()).toISOString();
    const entries = [endEntry(streamId, endedAt)];
    const record = records.get(streamId);
    if (record) {
      records.delete(streamId);
      entries.push(recordEntry({ ...record, endedAt }, `rec-end-${entries[0]!.eventId}`));
    }
    if ((await deliver(entries, streamId)) === 'failed') await queue(entries);
    return { verdict: { allow: true }, outcome: 'ended', streamId };
  };

  return {
    handle: async (ingest, hook) => {
      if (hook.call === 'publish') return publish(ingest, hook);
      if (hook.call === 'unpublish') return unpublish(ingest, hook);
      return { verdict: { allow: true }, outcome: 'other' };
    },
  };
}

/** Streams whose record this bridge keeps to mark their end; far above one bridge's live streams. */
const MAX_REMEMBERED = 100_000;

function endEntry(streamId: string, endedAt: string): OutboxEntry {
  const eventId = streamEventId('end');
  const payload = JSON.stringify({ schemaVersion: SCHEMA_VERSION, streamId, endedAt });
  return { subject: subjectFor(SUBJECTS.streamEnded, streamId), type: 'stream_ended', eventId, payload, streamId };
}

/** A KV put is a publish to `$KV.<bucket>.<key>`: it can wait in the outbox like any event. */
function recordEntry(record: PublisherRecord, eventId: string): OutboxEntry {
  return {
    subject: `$KV.${KV_BUCKETS.publishers}.${record.streamId}`,
    type: 'publisher',
    eventId,
    payload: JSON.stringify(record),
    streamId: record.streamId,
  };
}
