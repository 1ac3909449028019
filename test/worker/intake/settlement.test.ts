import { describe, expect, it } from 'vitest';
import { SourceError } from '../../../src/domain/errors.js';
import type { ScreeningOutcome } from '../../../src/domain/screening-outcome.js';
import { finishFor, settle, settleUnreported, type Finish } from '../../../src/worker/intake/settlement.js';

const ctx = { retryDelayMs: 5000 };
const terminal = new SourceError('source_failed', 'gave up');
const retryable = new SourceError('source_unreachable', 'connection refused', { retryable: true });

describe('finishFor: what the screening returned', () => {
  it.each<[ScreeningOutcome, Finish['kind']]>([
    [{ kind: 'stopped' }, 'completed'],
    [{ kind: 'source_ended' }, 'completed'],
    [{ kind: 'lease_lost' }, 'lease_lost'],
    [{ kind: 'failed', error: terminal }, 'crashed'],
    [{ kind: 'failed', error: retryable }, 'crashed'],
  ])('%j -> %s', (outcome, kind) => {
    expect(finishFor(outcome).kind).toBe(kind);
  });
});

describe('settle: the one table from a finish to what happens to the start and the lease', () => {
  it('a completed screening is acked and its lease released, without waiting (it already returned)', () => {
    expect(settle({ kind: 'completed' }, ctx)).toEqual({
      abort: 'completed',
      waitForRun: false,
      disposal: { kind: 'ack_release', cause: 'completed' },
    });
  });

  it('a terminal failure is reported, then acked: retrying a stream that cannot be screened would only repeat the report', () => {
    expect(settle({ kind: 'crashed', error: terminal }, ctx)).toEqual({
      waitForRun: false,
      report: { error: terminal },
      disposal: { kind: 'ack_release', cause: 'completed' },
    });
  });

  it('a retryable failure is reported, then handed back after the retry delay', () => {
    expect(settle({ kind: 'crashed', error: retryable }, ctx)).toEqual({
      waitForRun: false,
      report: { error: retryable },
      disposal: { kind: 'release_nak', delayMs: 5000 },
    });
  });

  it('an end stops the screening, waits for it (a kill-switch may be in flight), then acks', () => {
    expect(settle({ kind: 'ended' }, ctx)).toEqual({ abort: 'ended', waitForRun: true, disposal: { kind: 'ack_release', cause: 'ended' } });
  });

  it('a shutdown hands the stream to another worker at once (nak without delay)', () => {
    expect(settle({ kind: 'shutdown' }, ctx)).toEqual({
      abort: 'shutdown',
      waitForRun: true,
      disposal: { kind: 'release_nak', delayMs: 0 },
    });
  });

  it('a re-announced start passes the stream on to its successor message', () => {
    expect(settle({ kind: 'superseded' }, ctx)).toEqual({ abort: 'superseded', waitForRun: true, disposal: { kind: 'release_pass_on' } });
  });

  it("a lost lease touches nothing: the message may be the new owner's", () => {
    const s = settle({ kind: 'lease_lost' }, ctx);
    expect(s).toEqual({ waitForRun: true, disposal: { kind: 'leave' } });
    expect(s.abort).toBeUndefined();
  });
});

describe('settleUnreported: the failure event could not be published', () => {
  it('leaves the stream to its new owner when the lease is gone', () => {
    expect(settleUnreported({ ...ctx, leaseLost: true, stopping: false })).toEqual({ kind: 'leave' });
    expect(settleUnreported({ ...ctx, leaseLost: true, stopping: true })).toEqual({ kind: 'leave' });
  });

  it('hands it back at once while stopping, and after the retry delay otherwise (never acked unreported)', () => {
    expect(settleUnreported({ ...ctx, leaseLost: false, stopping: true })).toEqual({ kind: 'release_nak', delayMs: 0 });
    expect(settleUnreported({ ...ctx, leaseLost: false, stopping: false })).toEqual({ kind: 'release_nak', delayMs: 5000 });
  });
});
