import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { AuditRecordSchema, type AuditRecord } from '../../contracts/index.js';
import type { AuditReader } from '../ports.js';

/** Reads the tail of the audit stream on demand: the audit view is rare, the stream long. */
export function createAuditReader(js: JetStreamClient, stream: string): AuditReader {
  return {
    async latest(limit: number): Promise<AuditRecord[]> {
      const jsm = await js.jetstreamManager();
      const { state } = await jsm.streams.info(stream);
      if (state.messages === 0) return [];
      const start = Math.max(state.first_seq, state.last_seq - limit + 1);
      const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start });
      const out: AuditRecord[] = [];
      try {
        while (out.length < limit) {
          const batch = await consumer.fetch({ max_messages: Math.min(256, limit - out.length), expires: 1_000 });
          let seen = 0;
          let last = 0;
          for await (const m of batch) {
            seen++;
            last = m.seq;
            const parsed = AuditRecordSchema.safeParse(m.json());
            if (parsed.success) out.push(parsed.data);
          }
          if (seen === 0 || last >= state.last_seq) break;
        }
      } finally {
        await consumer.delete().catch(() => undefined);
      }
      return out.reverse();
    },
  };
}
