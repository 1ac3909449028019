/**
 * Property-based fuzzing (fast-check) of the start-event parser (src/worker/intake/events.ts over
 * the contract in src/contracts/stream-events.ts): whoever can publish on streams.started.> can
 * send anything. Whatever arrives, the parser returns a value or a dead-letter reason with its
 * issues, never throws, and never lets through what a decision could not carry.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeadLetterReasonSchema, MAX_EVENT_DEPTH, MAX_START_EVENT_BYTES, nestsDeeperThan } from '../../../src/contracts/index.js';
import { encodeEvent } from '../../../src/domain/encode-event.js';
import { parseStartEvent } from '../../../src/worker/intake/parse-events.js';

const RUNS = 400;
const encoder = new TextEncoder();
const REASONS = new Set(DeadLetterReasonSchema.options);

const streamId = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/);
const subject = fc.oneof(
  streamId.map((id) => `streams.started.${id}`),
  fc.string({ maxLength: 40 }),
  fc.string({ maxLength: 20 }).map((s) => `streams.started.${s}`),
);
const url = fc
  .oneof(
    fc.constantFrom(
      'rtmp://ingest.example/live/',
      'rtmps://ingest.example:443/app/',
      'srt://ingest.example:9000?streamid=',
      'https://cdn.example/hls/',
    ),
  )
  .chain((base) => fc.stringMatching(/^[a-z0-9]{1,16}$/).map((k) => `${base}${k}`));
/** Platform metadata as it comes: any JSON, nested up to a depth that stays inside the limit. */
const metadata = fc.dictionary(
  fc.string({ maxLength: 12 }).filter((k) => !['schemaVersion', 'streamId', 'url', 'startedAt', '__proto__'].includes(k)),
  fc.jsonValue({ depthSize: 'small', maxDepth: 6 }),
  { maxKeys: 6 },
);

function check(result: ReturnType<typeof parseStartEvent>): void {
  if (result.ok) return;
  expect(REASONS.has(result.reason)).toBe(true);
  expect(result.issues.length).toBeGreaterThan(0);
  for (const issue of result.issues) expect(typeof issue).toBe('string');
}

describe('start-event parser under fuzzing', () => {
  it('arbitrary bytes on arbitrary subjects: a value or a dead-letter reason with issues, never a throw', () => {
    fc.assert(
      fc.property(subject, fc.uint8Array({ maxLength: 512 }), (subj, bytes) => {
        check(parseStartEvent(subj, bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary JSON: the same, and whatever is accepted has a valid id and a URL and serialises for a decision', () => {
    fc.assert(
      fc.property(subject, fc.jsonValue({ maxDepth: 8 }), (subj, json) => {
        const result = parseStartEvent(subj, encoder.encode(JSON.stringify(json)));
        check(result);
        if (result.ok) {
          expect(subj).toBe(`streams.started.${result.value.streamId}`);
          expect(encodeEvent({ metadata: result.value.metadata }).metadataOmitted).toBe(false);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('well-formed starts are accepted and every extra field comes through as metadata, untouched', () => {
    fc.assert(
      fc.property(streamId, url, metadata, (id, u, meta) => {
        const body = { ...meta, streamId: id, url: u };
        const result = parseStartEvent(`streams.started.${id}`, encoder.encode(JSON.stringify(body)));
        expect(result).toEqual({ ok: true, value: { streamId: id, url: u, metadata: JSON.parse(JSON.stringify(meta)) } });
      }),
      { numRuns: 150 },
    );
  });

  it('nesting is accepted up to the limit and dead-lettered (schema_invalid) beyond it, at any depth', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5_000 }), fc.boolean(), (depth, arrays) => {
        const open = arrays ? '[' : '{"k":';
        const close = arrays ? ']' : '}';
        const text = `{"streamId":"s","url":"rtmp://h/live/k","m":${open.repeat(depth)}1${close.repeat(depth)}}`;
        const result = parseStartEvent('streams.started.s', encoder.encode(text));
        if (text.length > MAX_START_EVENT_BYTES) expect(result).toMatchObject({ ok: false, reason: 'too_large' });
        // The event object is level 1, `m`'s value level 2.
        else if (depth + 1 <= MAX_EVENT_DEPTH) expect(result.ok).toBe(true);
        else expect(result).toMatchObject({ ok: false, reason: 'schema_invalid' });
      }),
      { numRuns: RUNS },
    );
  });

  it('nestsDeeperThan agrees with a recursive count on any JSON', () => {
    const depthOf = (v: unknown): number =>
      typeof v === 'object' && v !== null ? 1 + Math.max(0, ...(Array.isArray(v) ? v : Object.values(v)).map(depthOf)) : 0;
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 10 }), fc.integer({ min: 0, max: 12 }), (json, max) => {
        expect(nestsDeeperThan(json, max)).toBe(depthOf(json) > max);
      }),
      { numRuns: RUNS },
    );
  });

  it('a body for another stream than its subject names is subject_mismatch; oversized payloads are too_large before parsing', () => {
    fc.assert(
      fc.property(streamId, streamId, url, (a, b, u) => {
        fc.pre(a !== b);
        expect(parseStartEvent(`streams.started.${a}`, encoder.encode(JSON.stringify({ streamId: b, url: u })))).toMatchObject({
          ok: false,
          reason: 'subject_mismatch',
        });
      }),
      { numRuns: 60 },
    );
    const big = encoder.encode(`{"streamId":"s","url":"rtmp://h/a/b","pad":"${'x'.repeat(MAX_START_EVENT_BYTES)}"}`);
    expect(parseStartEvent('streams.started.s', big)).toMatchObject({ ok: false, reason: 'too_large' });
  });
});
