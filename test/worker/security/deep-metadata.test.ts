/**
 * Probe: metadata nested 10000 deep (20 KB) once made JSON.stringify overflow the stack when the
 * kill-switch was published, so the stream got `screening.failure internal` instead. Now such a
 * start is dead-lettered at ingest, and a decision is published even if its metadata cannot be
 * serialised (on a real nats-server).
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_EVENT_DEPTH, type KillSwitchEvent } from '../../../src/contracts/index.js';
import { encodeEvent } from '../../../src/domain/encode-event.js';
import { parseStartEvent } from '../../../src/worker/intake/parse-events.js';
import { killSwitchEventId } from '../../../src/domain/event-id.js';
import { createDecisionPublisher } from '../../../src/worker/publish/index.js';
import { publisherOptions } from '../../support/stage-options.js';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.js';

/** `{"a":{"a":...{"a":1}}}` with `depth` objects, built without recursion. */
function nested(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { a: 1 };
  for (let i = 1; i < depth; i++) v = { a: v };
  return v;
}
const nestedText = (depth: number): string => `${'{"a":'.repeat(depth - 1)}{"a":1}${'}'.repeat(depth - 1)}`;

describe('deeply nested metadata', () => {
  it('a start nested 10000 deep (20 KB) is dead-lettered as schema_invalid, not taken', () => {
    const body = `{"streamId":"deep-1","url":"rtmp://ingest.example/live/k","meta":${nestedText(10_000)}}`;
    expect(body.length).toBeGreaterThan(20_000);
    expect(body.length).toBeLessThan(64 * 1024);
    const r = parseStartEvent('streams.started.deep-1', new TextEncoder().encode(body));
    expect(r).toMatchObject({ ok: false, reason: 'schema_invalid' });
    expect(r.ok ? [] : r.issues).toEqual([expect.stringMatching(/deeper than 32 levels/)]);
  });

  it('exactly at the limit is accepted; one level more is not', () => {
    // The event is level 1, so its metadata field may hold MAX_EVENT_DEPTH - 1 levels.
    const at = `{"streamId":"d","url":"rtmp://h/live/k","meta":${nestedText(MAX_EVENT_DEPTH - 1)}}`;
    const over = `{"streamId":"d","url":"rtmp://h/live/k","meta":${nestedText(MAX_EVENT_DEPTH)}}`;
    expect(parseStartEvent('streams.started.d', new TextEncoder().encode(at)).ok).toBe(true);
    expect(parseStartEvent('streams.started.d', new TextEncoder().encode(over))).toMatchObject({ ok: false, reason: 'schema_invalid' });
  });

  it('encodeEvent leaves out metadata that cannot be serialised, and only metadata', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const metadata of [nested(100_000), { n: 10n }, cyclic]) {
      const { payload, metadataOmitted } = encodeEvent({ type: 'killswitch', eventId: 'e', metadata });
      expect(metadataOmitted).toBe(true);
      expect(JSON.parse(payload)).toEqual({ type: 'killswitch', eventId: 'e' });
    }
    expect(encodeEvent({ a: 1, metadata: { ok: true } })).toEqual({ payload: '{"a":1,"metadata":{"ok":true}}', metadataOmitted: false });
    expect(() => encodeEvent({ n: 1n })).toThrow(TypeError);
  });

  describe('on a real nats-server', () => {
    let server: NatsServerHandle;
    let nc: NatsConnection;
    beforeAll(async () => {
      server = await startNatsServer();
      nc = await connect({ servers: server.url });
    });
    afterAll(async () => {
      await nc?.close();
      await server?.stop();
    });

    it('a kill-switch whose metadata is nested 100000 deep is published (without it), not failed', async () => {
      const publisher = createDecisionPublisher({ js: jetstream(nc), logger: pino({ level: 'silent' }), options: publisherOptions() });
      await publisher.provision();
      const hash = 'a'.repeat(64);
      const event: KillSwitchEvent = {
        schemaVersion: 1,
        type: 'killswitch',
        eventId: killSwitchEventId({ streamId: 'deep-2', runId: 'r', frameSeq: 1, list: 'l', hash }),
        streamId: 'deep-2',
        reason: 'hash_match',
        match: { list: 'l', distance: 0, hash },
        frame: { seq: 1, pts: 1, capturedAt: new Date().toISOString() },
        decidedAt: new Date().toISOString(),
        latencyMs: 1,
        workerId: 'w',
        metadata: { deep: nested(100_000) },
      };
      const receipt = await publisher.publishKillSwitch(event);
      const jsm = await jetstreamManager(nc);
      const stored = await jsm.streams.getMessage(receipt.stream, { seq: receipt.seq });
      const body = stored!.json<Record<string, unknown>>();
      expect(body).toMatchObject({ type: 'killswitch', eventId: event.eventId, streamId: 'deep-2' });
      expect(body).not.toHaveProperty('metadata');
    });
  });
});
