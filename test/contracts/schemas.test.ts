import { describe, expect, it } from 'vitest';
import {
  blockActive,
  blockKey,
  BlockRecordSchema,
  channelForSubject,
  PublisherRecordSchema,
  streamKeyValue,
  EnforcementActionSchema,
  EscalationEventSchema,
  KillSwitchEventSchema,
  ScreeningFailureEventSchema,
  StreamStartedSchema,
} from '../../src/contracts/index.js';
import { parseEndEvent, parseStartEvent } from '../../src/worker/intake/index.js';

const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
const hash = 'ab'.repeat(32);
const killSwitch = {
  schemaVersion: 1,
  type: 'killswitch',
  eventId: 'ks-1',
  streamId: 's1',
  reason: 'hash_match',
  match: { list: 'l', distance: 3, hash, action: 'kill' },
  frame: { seq: 4, pts: 1.5, capturedAt: '2026-01-01T00:00:00.000Z', hash, quality: 90 },
  decidedAt: '2026-01-01T00:00:00.010Z',
  latencyMs: 10,
  workerId: 'w1',
  metadata: { channel: 'c' },
};

describe('inbound stream events: schemaVersion', () => {
  it('reads a start without schemaVersion as version 1, and never passes schemaVersion on as metadata', () => {
    const a = parseStartEvent('streams.started.s1', enc({ streamId: 's1', url: 'rtmp://127.0.0.1/live/s1', channel: 'c' }));
    const b = parseStartEvent(
      'streams.started.s1',
      enc({ schemaVersion: 1, streamId: 's1', url: 'rtmp://127.0.0.1/live/s1', channel: 'c' }),
    );
    expect(a).toEqual(b);
    expect(a.ok && a.value.metadata).toEqual({ channel: 'c' });
  });

  it('refuses a start or an end of an unknown version (dead letter, schema_invalid), saying which version it reads', () => {
    const start = parseStartEvent('streams.started.s1', enc({ schemaVersion: 2, streamId: 's1', url: 'rtmp://127.0.0.1/live/s1' }));
    expect(start).toMatchObject({ ok: false, reason: 'schema_invalid' });
    expect(!start.ok && start.issues.join()).toMatch(/schemaVersion: unknown schema version: this worker reads version 1/);
    expect(parseEndEvent('streams.ended.s1', enc({ schemaVersion: '1', streamId: 's1' }))).toMatchObject({
      ok: false,
      reason: 'schema_invalid',
    });
  });

  it('keeps unknown fields of a start (platform metadata)', () => {
    expect(StreamStartedSchema.parse({ streamId: 's1', url: 'rtmp://h/a', tenant: { id: 7 } })).toMatchObject({ tenant: { id: 7 } });
  });
});

describe('outbound screening events', () => {
  it('accepts a well-formed kill-switch', () => {
    expect(KillSwitchEventSchema.safeParse(killSwitch).success).toBe(true);
  });

  it('requires schemaVersion 1 on everything the worker publishes', () => {
    const { schemaVersion: _v, ...unversioned } = killSwitch;
    expect(KillSwitchEventSchema.safeParse(unversioned).success).toBe(false);
    expect(KillSwitchEventSchema.safeParse({ ...killSwitch, schemaVersion: 2 }).success).toBe(false);
  });

  it('is strict: a field the contract does not name is refused (the worker is the only producer)', () => {
    expect(KillSwitchEventSchema.safeParse({ ...killSwitch, extra: 1 }).success).toBe(false);
    expect(KillSwitchEventSchema.safeParse({ ...killSwitch, match: { ...killSwitch.match, hash: 'XYZ' } }).success).toBe(false);
  });

  it('checks escalation reasons by kind', () => {
    const esc = { ...killSwitch, type: 'escalation', priority: 'critical', match: undefined, reason: undefined };
    const base = Object.fromEntries(Object.entries(esc).filter(([, v]) => v !== undefined));
    const reasons = [
      { kind: 'classifier', signal: 'porn', score: 0.7, threshold: 0.5 },
      { kind: 'possible_minor', minAge: 12, challengeAge: 25 },
    ];
    expect(EscalationEventSchema.safeParse({ ...base, reasons }).success).toBe(true);
    expect(EscalationEventSchema.safeParse({ ...base, reasons: [] }).success).toBe(false);
    expect(
      EscalationEventSchema.safeParse({ ...base, reasons: [{ kind: 'classifier', signal: 'porn', score: 3, threshold: 0.5 }] }).success,
    ).toBe(false);
  });

  it('caps a failure message at 2000 characters (domain/failure.ts cuts to fit)', () => {
    const f = {
      schemaVersion: 1,
      type: 'failure',
      eventId: 'f',
      streamId: 's1',
      code: 'source_failed',
      message: 'x',
      at: '2026-01-01T00:00:00Z',
      workerId: 'w',
    };
    expect(ScreeningFailureEventSchema.safeParse(f).success).toBe(true);
    expect(ScreeningFailureEventSchema.safeParse({ ...f, message: 'x'.repeat(2001) }).success).toBe(false);
  });
});

describe('enforcement contracts and subjects', () => {
  it('enforcement actions, publisher records and blocks are strict contracts with their channels', () => {
    const a = {
      schemaVersion: 1,
      type: 'enforcement_action',
      eventId: 'e1',
      streamId: 's1',
      action: 'disconnect',
      reason: 'killswitch',
      killSwitchEventId: 'ks-1',
      ingest: { id: 'nginx-1', kind: 'nginx-rtmp' },
      target: { app: 'live', nameRedacted: 'ab***' },
      result: 'done',
      attempt: 1,
      willRetry: false,
      by: 'enforcer-1',
      at: '2026-01-01T00:00:00Z',
    };
    expect(EnforcementActionSchema.safeParse(a).success).toBe(true);
    // The audit never carries the stream key: there is no field for it.
    expect(EnforcementActionSchema.safeParse({ ...a, target: { name: 'secret-key' } }).success).toBe(false);
    expect(channelForSubject('enforcement.actions.s1')?.id).toBe('enforcementAction');
    const record = {
      schemaVersion: 1,
      type: 'publisher',
      streamId: 's1',
      ingest: { id: 'nginx-1', kind: 'nginx-rtmp' },
      target: { app: 'live', name: 'key', clientId: '7', publisherIp: '127.0.0.1' },
      nameRedacted: 'k***',
      urlRedacted: 'rtmp://127.0.0.1/live/***',
      startEventId: 'start-1',
      startedAt: '2026-01-01T00:00:00Z',
    };
    expect(PublisherRecordSchema.safeParse(record).success).toBe(true);
    expect(channelForSubject('$KV.screening-publishers.s1')?.id).toBe('publisherRecord');
    const key = blockKey('key', streamKeyValue({ app: 'live', name: 'key' }));
    expect(key).toMatch(/^key-[0-9a-f]{32}$/);
    expect(key).not.toContain('live');
    const block = {
      schemaVersion: 1,
      type: 'block',
      key,
      scope: 'key',
      display: 'live/k***',
      streamId: 's1',
      reason: 'killswitch',
      createdAt: '2026-01-01T00:00:00Z',
      expiresAt: null,
      createdBy: 'enforcer-1',
    };
    expect(BlockRecordSchema.safeParse(block).success).toBe(true);
    expect(channelForSubject(`$KV.screening-blocks.${key}`)?.id).toBe('blockRecord');
    expect(blockActive(block, Date.now())).toBe(true);
    expect(blockActive({ expiresAt: '2026-01-01T00:00:00Z' }, Date.parse('2026-01-01T00:00:01Z'))).toBe(false);
  });

  it('finds the contract of a concrete subject, and none for a subject nobody defined', () => {
    expect(channelForSubject('screening.killswitch.s1')?.id).toBe('killSwitch');
    expect(channelForSubject('screening.shadow.escalation.s1')?.id).toBe('shadowEscalation');
    expect(channelForSubject('screening.deadletter')?.id).toBe('deadLetter');
    expect(channelForSubject('screening.escalation.s1')?.id).toBe('escalation');
    expect(channelForSubject('screening.escalation.updated.s1')?.id).toBe('caseUpdated');
    expect(channelForSubject('screening.review.s1')?.id).toBe('reviewDecision');
    expect(channelForSubject('screening.reviewed.s1')?.id).toBe('reviewAck');
    expect(channelForSubject('screening.audit')?.id).toBe('audit');
    expect(channelForSubject('screening.killswitch.s1.extra')).toBeUndefined();
    expect(channelForSubject('other.thing')).toBeUndefined();
  });
});
