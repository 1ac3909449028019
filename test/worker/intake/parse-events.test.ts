import { describe, expect, it } from 'vitest';
import { SourceError } from '../../../src/domain/errors.js';
import {
  buildDeadLetter,
  encodePayload,
  MAX_DEAD_LETTER_PAYLOAD_BYTES,
  parseEndEvent,
  parseStartEvent,
} from '../../../src/worker/intake/index.js';
import { MAX_START_EVENT_BYTES } from '../../../src/contracts/index.js';
import { isoToNanos } from '../../../src/worker/intake/time.js';
import { parseSourceUrl } from '../../../src/worker/sampler/source-url.js';

const enc = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

describe('start/end event schema', () => {
  it('accepts a start, keeping unknown fields as metadata', () => {
    const r = parseStartEvent(
      'streams.started.abc_1',
      enc({ streamId: 'abc_1', url: 'rtmp://media/live/abc', startedAt: '2024-05-01T12:00:00.5+02:00', channel: 'c9', tags: ['x'] }),
    );
    expect(r).toEqual({
      ok: true,
      value: {
        streamId: 'abc_1',
        url: 'rtmp://media/live/abc',
        startedAt: '2024-05-01T12:00:00.5+02:00',
        metadata: { channel: 'c9', tags: ['x'] },
      },
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
    expect(parseStartEvent('streams.started.A', enc([1, 2]))).toMatchObject({
      ok: false,
      reason: 'schema_invalid',
      issues: ['(root): Invalid input: expected object, received array'],
    });
    expect(parseStartEvent('streams.started.A', new Uint8Array([0xff, 0xfe]))).toMatchObject({
      ok: false,
      reason: 'invalid_json',
      issues: ['payload is not valid UTF-8'],
    });
  });

  it('accepts an end without url and refuses one with a bad endedAt', () => {
    expect(parseEndEvent('streams.ended.A', enc({ streamId: 'A' }))).toEqual({ ok: true, value: { streamId: 'A' } });
    expect(parseEndEvent('streams.ended.A', enc({ streamId: 'A', endedAt: 'soon' }))).toMatchObject({
      ok: false,
      reason: 'schema_invalid',
    });
  });

  it('keeps the original payload: text as is, binary as base64', () => {
    expect(encodePayload(enc('{"a":1}'))).toEqual({ payload: '{"a":1}', payloadEncoding: 'utf8' });
    expect(encodePayload(new Uint8Array([0xff, 0x00, 0x01]))).toEqual({ payload: '/wAB', payloadEncoding: 'base64' });
    const dl = buildDeadLetter(
      { stream: 'S', seq: 9, subject: 'streams.started.x', data: enc('nope') },
      'invalid_json',
      ['x'],
      'w1',
      new Date(0),
    );
    expect(dl).toEqual({
      schemaVersion: 1,
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

  it('refuses a start event over 64 KiB (metadata is copied into every decision) before parsing it', () => {
    const body = (size: number): Uint8Array => {
      const base = { streamId: 'big', url: 'rtmp://media/live/big', blob: '' };
      return enc({ ...base, blob: 'm'.repeat(size - JSON.stringify(base).length) });
    };
    expect(MAX_START_EVENT_BYTES).toBe(65_536);
    expect(body(MAX_START_EVENT_BYTES).byteLength).toBe(MAX_START_EVENT_BYTES);
    expect(parseStartEvent('streams.started.big', body(MAX_START_EVENT_BYTES))).toMatchObject({ ok: true });
    const r = parseStartEvent('streams.started.big', body(MAX_START_EVENT_BYTES + 1));
    expect(r).toEqual({
      ok: false,
      reason: 'too_large',
      issues: [expect.stringMatching(/^payload: 65537 bytes, start events are limited to 65536/)],
    });
    // Not even JSON: the size alone decides, and a bad subject is reported with it.
    expect(parseStartEvent('elsewhere.x', new Uint8Array(MAX_START_EVENT_BYTES + 1))).toMatchObject({
      reason: 'too_large',
      issues: [expect.any(String), expect.stringMatching(/^subject:/)],
    });
    // The limit is an ingest option.
    expect(parseStartEvent('streams.started.big', body(2000), 'streams.started', 1000)).toMatchObject({ ok: false, reason: 'too_large' });
  });

  it('accepts exactly the URLs the sampler accepts by length, so a long URL is a dead letter, not a failed screening', () => {
    for (const length of [4096, 4097]) {
      const url = `rtmp://media.example/live/${'k'.repeat(length - 'rtmp://media.example/live/'.length)}`;
      expect(url).toHaveLength(length);
      const ingestAccepts = parseStartEvent('streams.started.u', enc({ streamId: 'u', url })).ok;
      let samplerAccepts = true;
      try {
        parseSourceUrl(url);
      } catch (err) {
        expect(err).toBeInstanceOf(SourceError);
        samplerAccepts = false;
      }
      expect({ length, ingestAccepts }).toEqual({ length, ingestAccepts: samplerAccepts });
      expect(ingestAccepts).toBe(length === 4096);
    }
  });

  it('a dead letter keeps at most the first 64 KiB of the payload, cut on a UTF-8 boundary, and says so', () => {
    // 'é' is two bytes, with an odd prefix so the limit falls inside a character.
    const text = `x${'é'.repeat(40_000)}`;
    const dl = buildDeadLetter({ stream: 'S', seq: 1, subject: 's.x', data: enc(text) }, 'too_large', ['payload: too big'], 'w1');
    expect(dl.payloadEncoding).toBe('utf8');
    expect(Buffer.byteLength(dl.payload)).toBe(MAX_DEAD_LETTER_PAYLOAD_BYTES - 1);
    expect(text.startsWith(dl.payload)).toBe(true);
    expect(dl.issues).toEqual([
      'payload: too big',
      `payload: only the first ${MAX_DEAD_LETTER_PAYLOAD_BYTES - 1} of 80001 bytes are kept in this dead letter`,
    ]);
    // Worst case (every byte a JSON escape) still fits NATS's default 1 MiB max_payload.
    const escapes = buildDeadLetter(
      { stream: 'S', seq: 2, subject: 's.x', data: new Uint8Array(300_000).fill(1) },
      'invalid_json',
      [],
      'w1',
    );
    expect(Buffer.byteLength(JSON.stringify(escapes))).toBeLessThan(1024 * 1024);
    // Small payloads are kept whole, with no extra issue.
    expect(buildDeadLetter({ stream: 'S', seq: 3, subject: 's.x', data: enc('{}') }, 'schema_invalid', ['a'], 'w1').issues).toEqual(['a']);
  });

  it('reads server timestamps to the nanosecond', () => {
    expect(isoToNanos('1970-01-01T00:00:01.000000002Z')).toBe(1_000_000_002n);
    expect(isoToNanos('1970-01-01T00:00:01Z')).toBe(1_000_000_000n);
    expect(isoToNanos('1970-01-01T01:00:00.5+01:00')).toBe(500_000_000n);
  });
});
