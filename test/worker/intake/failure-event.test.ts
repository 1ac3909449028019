import { describe, expect, it } from 'vitest';
import { SourceError } from '../../../src/domain/errors.js';
import { failureEventId } from '../../../src/domain/event-id.js';
import { MAX_FAILURE_MESSAGE_CHARS, screeningFailureEvent } from '../../../src/domain/failure.js';
import type { StreamStart } from '../../../src/domain/stream.js';

const start: StreamStart = {
  streamId: 'live-9',
  url: 'rtmps://user:pw@ingest.example:443/live/sk_secret?token=abc',
  metadata: { channel: 'c' },
};

describe('screeningFailureEvent (domain/failure.ts)', () => {
  it("builds the wire event: id from (stream, run, code), redacted URL, the error's code and message", () => {
    const at = new Date('2024-05-01T12:00:00Z');
    const ev = screeningFailureEvent({ start, runId: '7.42', workerId: 'w1', error: new SourceError('source_failed', 'gave up'), at });
    expect(ev).toEqual({
      schemaVersion: 1,
      type: 'failure',
      eventId: failureEventId('live-9', '7.42', 'source_failed'),
      streamId: 'live-9',
      code: 'source_failed',
      message: 'gave up',
      url: 'rtmps://***@ingest.example:443/live/***?token=***',
      at: '2024-05-01T12:00:00.000Z',
      workerId: 'w1',
    });
    // The same failure of the same run, reported twice (pipeline and ingest, or a retry), dedupes.
    expect(
      screeningFailureEvent({ start, runId: '7.42', workerId: 'w2', error: new SourceError('source_failed', 'other words') }).eventId,
    ).toBe(ev.eventId);
    expect(
      screeningFailureEvent({ start, runId: '8.50', workerId: 'w1', error: new SourceError('source_failed', 'gave up') }).eventId,
    ).not.toBe(ev.eventId);
  });

  it("takes attempts from the error unless given, and a caller's message instead of the error's", () => {
    const err = Object.assign(new SourceError('source_failed', 'gave up'), { attempts: 5 });
    expect(screeningFailureEvent({ start, runId: 'r', workerId: 'w', error: err }).attempts).toBe(5);
    expect(screeningFailureEvent({ start, runId: 'r', workerId: 'w', error: err, attempts: 2 }).attempts).toBe(2);
    expect(screeningFailureEvent({ start, runId: 'r', workerId: 'w', error: new Error('x') })).not.toHaveProperty('attempts');
    expect(screeningFailureEvent({ start, runId: 'r', workerId: 'w', error: err, message: 'summary' }).message).toBe('summary');
  });

  it('non-StreamscreenError throws are "internal"; secrets quoted in messages are redacted; long messages are capped', () => {
    const ev = screeningFailureEvent({
      start,
      runId: 'r',
      workerId: 'w',
      error: new Error(`ffmpeg: opening rtmp://media.example/live/sk_secret failed: Connection refused ${'x'.repeat(5000)}`),
    });
    expect(ev.code).toBe('internal');
    expect(ev.message.startsWith('ffmpeg: opening rtmp://media.example/live/*** failed: Connection refused')).toBe(true);
    expect(ev.message).not.toContain('sk_secret');
    expect(ev.message).toHaveLength(MAX_FAILURE_MESSAGE_CHARS);
    expect(screeningFailureEvent({ start, runId: 'r', workerId: 'w', error: 'a string' }).message).toBe('a string');
  });
});
