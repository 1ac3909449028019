import { describe, expect, it } from 'vitest';
import { buildDeadLetter, encodePayload, parseEndEvent, parseStartEvent } from '../../src/ingest/index.js';
import { isoToNanos } from '../../src/ingest/time.js';

const enc = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

describe('start/end event schema', () => {
  it('accepts a start, keeping unknown fields as metadata', () => {
    const r = parseStartEvent(
      'streams.started.abc_1',
      enc({ streamId: 'abc_1', url: 'rtmp://media/live/abc', startedAt: '2024-05-01T12:00:00.5+02:00', channel: 'c9', tags: ['x'] }),
    );
    expect(r).toEqual({
      ok: true,
      value: { streamId: 'abc_1', url: 'rtmp://media/live/abc', startedAt: '2024-05-01T12:00:00.5+02:00', metadata: { channel: 'c9', tags: ['x'] } },
    });
  });

  it('lists every schema problem at once', () => {
    const r = parseStartEvent('streams.started.ok', enc({ streamId: 'bad id', url: '', startedAt: 'yesterday' }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toBe('schema_invalid');
    expect(r.issues).toHaveLength(3);
    expect(r.issues.join('\n')).toMatch(/streamId:/);
    expect(r.issues.join('\n')).toMatch(/url: must not be empty/);
    expect(r.issues.join('\n')).toMatch(/startedAt: must be an ISO-8601/);
  });

  it('refuses a body whose streamId differs from the subject', () => {
    const r = parseStartEvent('streams.started.A', enc({ streamId: 'B', url: 'http://x/y' }));
    expect(r).toEqual({ ok: false, reason: 'subject_mismatch', issues: ['streamId: body says "B" but the subject names "A"'] });
  });

  it('refuses invalid JSON, non-objects and non-UTF-8 payloads', () => {
    expect(parseStartEvent('streams.started.A', enc('{"streamId":'))).toMatchObject({ ok: false, reason: 'invalid_json' });
    expect(parseStartEvent('streams.started.A', enc([1, 2]))).toMatchObject({ ok: false, reason: 'schema_invalid', issues: ['(root): Invalid input: expected object, received array'] });
    expect(parseStartEvent('streams.started.A', new Uint8Array([0xff, 0xfe]))).toMatchObject({ ok: false, reason: 'invalid_json', issues: ['payload is not valid UTF-8'] });
  });

  it('accepts an end without url and refuses one with a bad endedAt', () => {
    expect(parseEndEvent('streams.ended.A', enc({ streamId: 'A' }))).toEqual({ ok: true, value: { streamId: 'A' } });
    expect(parseEndEvent('streams.ended.A', enc({ streamId: 'A', endedAt: 'soon' }))).toMatchObject({ ok: false, reason: 'schema_invalid' });
  });

  it('keeps the original payload: text as is, binary as base64', () => {
    expect(encodePayload(enc('{"a":1}'))).toEqual({ payload: '{"a":1}', payloadEncoding: 'utf8' });
    expect(encodePayload(new Uint8Array([0xff, 0x00, 0x01]))).toEqual({ payload: '/wAB', payloadEncoding: 'base64' });
    const dl = buildDeadLetter({ stream: 'S', seq: 9, subject: 'streams.started.x', data: enc('nope') }, 'invalid_json', ['x'], 'w1', new Date(0));
    expect(dl).toEqual({
      type: 'deadletter',
      eventId: 'dl-S-9',
      subject: 'streams.started.x',
      reason: 'invalid_json',
      issues: ['x'],
      payload: 'nope',
      payloadEncoding: 'utf8',
      receivedAt: '1970-01-01T00:00:00.000Z',
      workerId: 'w1',
    });
  });

  it('reads server timestamps to the nanosecond', () => {
    expect(isoToNanos('1970-01-01T00:00:01.000000002Z')).toBe(1_000_000_002n);
    expect(isoToNanos('1970-01-01T00:00:01Z')).toBe(1_000_000_000n);
    expect(isoToNanos('1970-01-01T01:00:00.5+01:00')).toBe(500_000_000n);
  });
});
