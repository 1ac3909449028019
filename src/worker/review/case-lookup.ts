import { DeliverPolicy, JetStreamApiCodes, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import type { ReviewOptions } from '../../config/index.js';
import { CaseEventSchema, KillSwitchEventSchema, type CaseEvent, type KillSwitchEvent } from '../../contracts/index.js';
import { hasApiCode } from '../../nats/index.js';
import { reviewStreams } from '../cases/case-publisher.js';

/**
 * Reads a stream's stored messages on the given subjects once, oldest first (an ordered
 * consumer), stopping when it has caught up. For operators' tools: a case's history, the
 * kill-switches of a stream. Messages that are not JSON are skipped.
 */
export async function scanStream(
  js: JetStreamClient,
  stream: string,
  subjects: readonly string[],
  visit: (subject: string, json: unknown) => void,
): Promise<void> {
  const jsm = await js.jetstreamManager();
  let total: number;
  try {
    total = (await jsm.streams.info(stream)).state.messages;
  } catch (err) {
    if (hasApiCode(err, JetStreamApiCodes.StreamNotFound)) return;
    throw err;
  }
  if (total === 0) return;
  // One subject filter at most: servers before 2.10 take no more (several are only ever a stream's own subjects here, read whole).
  const filter = subjects.length === 1 && subjects[0] !== '>' ? { filter_subjects: subjects[0]! } : {};
  const consumer = await js.consumers.get(stream, { ...filter, deliver_policy: DeliverPolicy.All });
  for (;;) {
    const batch = await consumer.fetch({ max_messages: 500, expires: 2_000 });
    let got = 0;
    let caughtUp = false;
    for await (const m of batch as AsyncIterable<JsMsg>) {
      got++;
      try {
        visit(m.subject, m.json());
      } catch {
        // Not JSON: not ours to read.
      }
      if (m.info.pending === 0) {
        // Caught up: leave now rather than wait out the fetch's expiry for messages that will not come.
        caughtUp = true;
        break;
      }
    }
    if (caughtUp || got === 0) return;
  }
}

export interface CaseHistory {
  /** Every stored event of the case, by revision. */
  readonly events: readonly CaseEvent[];
  /** The highest revision: the case as it is. */
  readonly latest: CaseEvent;
}

/**
 * A case's history from the cases stream, found by its case id, by the id of one of its events,
 * or by the id of a kill-switch or escalation that names it (SCREENING_DECISIONS). Undefined when
 * nothing matches (or the stream's retention dropped it).
 */
export async function findCase(
  js: JetStreamClient,
  o: ReviewOptions,
  decisionsStream: string,
  id: string,
): Promise<CaseHistory | undefined> {
  const { cases } = reviewStreams(o);
  const all: CaseEvent[] = [];
  await scanStream(js, cases.name, cases.subjects, (_s, json) => {
    const parsed = CaseEventSchema.safeParse(json);
    if (parsed.success) all.push(parsed.data);
  });
  let caseId = all.find((e) => e.caseId === id || e.eventId === id)?.caseId;
  if (!caseId) {
    await scanStream(js, decisionsStream, ['>'], (_s, json) => {
      const e = json as { eventId?: unknown; caseId?: unknown };
      if (e && e.eventId === id && typeof e.caseId === 'string') caseId = e.caseId;
    });
  }
  const events = all.filter((e) => e.caseId === caseId).sort((a, b) => a.revision - b.revision);
  // One event per revision (a retried publish is stored once, but two writers may race on one).
  const byRevision = [...new Map(events.map((e) => [e.revision, e])).values()];
  return byRevision.length ? { events: byRevision, latest: byRevision.at(-1)! } : undefined;
}

/** The kill-switches published for a stream (any reason), oldest first. */
export async function killSwitchesOf(
  js: JetStreamClient,
  decisionsStream: string,
  killSwitchPrefix: string,
  streamId: string,
): Promise<KillSwitchEvent[]> {
  const out: KillSwitchEvent[] = [];
  await scanStream(js, decisionsStream, [`${killSwitchPrefix}.${streamId}`], (_s, json) => {
    const parsed = KillSwitchEventSchema.safeParse(json);
    if (parsed.success) out.push(parsed.data);
  });
  return out;
}
