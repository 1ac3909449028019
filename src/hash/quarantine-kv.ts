/**
 * The quarantine state in a JetStream KV bucket, shared by every worker and the operator
 * command: one key per list entry (`<list>.<hash>`), JSON records, written with compare-and-set
 * so two workers counting the same entry at once never lose a stream, and exactly one of them
 * sees its write cross the threshold (and reports it).
 */
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { entryKeyString, type QuarantineRecord, type QuarantineStore } from './quarantine.js';

/** Concurrent writers on one entry retry this often before the update is reported as failed. */
const MAX_ATTEMPTS = 10;

export async function openQuarantineBucket(nc: NatsConnection, bucket: string): Promise<KV>;
export async function openQuarantineBucket(nc: NatsConnection, bucket: string, options: { create: false }): Promise<KV | null>;
export async function openQuarantineBucket(nc: NatsConnection, bucket: string, options: { create?: boolean } = {}): Promise<KV | null> {
  const kvm = new Kvm(nc);
  if (options.create !== false) {
    // Creates it, or binds to it when it exists. One value per key (history 1): the record is
    // the state; file storage survives a server restart.
    return kvm.create(bucket, { history: 1, description: 'streamscreen flood quarantine (key = <list>.<hash>)' });
  }
  try {
    const kv = await kvm.open(bucket);
    await kv.status();
    return kv;
  } catch (err) {
    if (/not found/i.test((err as Error).message)) return null;
    throw err;
  }
}

function decode(value: Uint8Array): QuarantineRecord | undefined {
  if (value.length === 0) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(value)) as QuarantineRecord;
  } catch {
    return undefined;
  }
}

function isConflict(err: unknown): boolean {
  const messages: string[] = [];
  for (let e: unknown = err; e instanceof Error && messages.length < 4; e = e.cause) messages.push(e.message);
  return /wrong last sequence|key exists|10071/i.test(messages.join(' '));
}

export function createKvQuarantineStore(kv: KV): QuarantineStore {
  return {
    async update(key, change) {
      const k = entryKeyString(key);
      for (let attempt = 1; ; attempt++) {
        const entry = await kv.get(k);
        const live = entry && entry.operation === 'PUT' ? entry : null;
        const before = live ? decode(live.value) : undefined;
        const after = change(before);
        if (!after) return { ...(before ? { before, after: before } : {}) };
        const payload = JSON.stringify(after);
        try {
          if (live) await kv.update(k, payload, live.revision);
          else await kv.create(k, payload);
          return { ...(before ? { before } : {}), after };
        } catch (err) {
          if (!isConflict(err) || attempt >= MAX_ATTEMPTS) throw err;
        }
      }
    },

    async list() {
      const out: QuarantineRecord[] = [];
      for await (const k of await kv.keys()) {
        const entry = await kv.get(k);
        const record = entry && entry.operation === 'PUT' ? decode(entry.value) : undefined;
        if (record) out.push(record);
      }
      return out.sort((a, b) => a.list.localeCompare(b.list) || a.hash.localeCompare(b.hash));
    },

    async watch(onChange) {
      // The current records first (resolved once they are applied), then the watch, which
      // delivers the latest value of every key again and every change after: applying a record
      // twice is harmless, missing one between the two is not possible.
      for (const record of await this.list()) onChange(record);
      const iter = await kv.watch({ key: '>' });
      void (async () => {
        for await (const e of iter) {
          // A deleted key (an operator purging it by hand) acts again, like a released one.
          const [list = '', hash = ''] = e.key.split('.');
          const record = e.operation === 'PUT' ? decode(e.value) : { list, hash, streams: {} };
          if (record) onChange(record);
        }
      })();
      return { stop: () => iter.stop() };
    },
  };
}
