import { describe, expect, it } from 'vitest';
import { readiness } from '../../src/domain/readiness.js';

describe('readiness', () => {
  it('is ready only when every named check passes', () => {
    expect(readiness({})).toEqual({ ready: true, reasons: [] });
    expect(readiness({ 'hash lists': true, nats: { ok: true, detail: 'disconnected' } })).toEqual({ ready: true, reasons: [] });
  });

  it('names each failing check, with its details, in the order given', () => {
    expect(
      readiness({
        'hash lists': false,
        classifiers: true,
        nats: { ok: false, detail: 'disconnected' },
        intake: { ok: false, detail: ['lease bucket unreachable', 'pull failing'] },
        other: { ok: false },
      }),
    ).toEqual({
      ready: false,
      reasons: ['hash lists', 'nats: disconnected', 'intake: lease bucket unreachable', 'intake: pull failing', 'other'],
    });
  });
});
