import { describe, expect, it } from 'vitest';
import { SourceError } from '../../../src/domain/errors.js';
import type { ScreeningOutcome } from '../../../src/domain/screening-outcome.js';
import { SourceFailedError } from '../../../src/worker/sampler/errors.js';
import { finishFor, nextStep, settle, settleUnreported, SOURCE_OK, type Finish } from '../../../src/worker/intake/settlement.js';

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

describe('nextStep: a source that went away keeps its stream', () => {
  const o = { sourceProbeBaseMs: 1000, sourceProbeMaxMs: 8000, sourceGiveUpMs: 60_000 };
  const gone = new SourceFailedError('rtmp://x/***', 4, new SourceError('source_unreachable', 'refused', { retryable: true }));
  const refused = new SourceFailedError('rtmp://x/***', 1, new SourceError('source_invalid', 'not allowed'));

  it('other outcomes finish as before', () => {
    expect(nextStep({ kind: 'source_ended' }, SOURCE_OK, o, { now: 0, ranMs: 10 })).toEqual({
      kind: 'finish',
      finish: { kind: 'completed' },
    });
    expect(nextStep({ kind: 'failed', error: refused }, SOURCE_OK, o, { now: 0, ranMs: 10 })).toEqual({
      kind: 'finish',
      finish: { kind: 'crashed', error: refused },
    });
  });

  it('reports the first failure, then probes with a growing delay without reporting again', () => {
    const first = nextStep({ kind: 'failed', error: gone }, SOURCE_OK, o, { now: 100, ranMs: 5000 });
    expect(first).toMatchObject({ kind: 'probe', report: true, state: { failures: 1, since: 100 } });
    if (first.kind !== 'probe') throw new Error('unreachable');
    expect(first.delayMs).toBeGreaterThanOrEqual(500);
    expect(first.delayMs).toBeLessThanOrEqual(1000);
    let state = first.state;
    let delay = 0;
    for (let i = 0; i < 6; i++) {
      const next = nextStep({ kind: 'failed', error: gone }, state, o, { now: 200 + i, ranMs: 100 });
      if (next.kind !== 'probe') throw new Error('unreachable');
      expect(next.report).toBe(false);
      state = next.state;
      delay = next.delayMs;
    }
    expect(state.failures).toBe(7);
    expect(delay).toBeLessThanOrEqual(8000);
    expect(delay).toBeGreaterThanOrEqual(4000);
  });

  it('a screening that ran longer than the longest delay was a recovery: the next failure is reported again', () => {
    const step = nextStep({ kind: 'failed', error: gone }, { failures: 5, since: 0 }, o, { now: 50_000, ranMs: 9000 });
    expect(step).toMatchObject({ kind: 'probe', report: true, state: { failures: 1, since: 50_000 } });
  });

  it('gives up at the horizon, counted from when the source went; 0 never gives up', () => {
    expect(nextStep({ kind: 'failed', error: gone }, { failures: 9, since: 0 }, o, { now: 60_000, ranMs: 100 })).toEqual({
      kind: 'finish',
      finish: { kind: 'gave_up' },
    });
    expect(
      nextStep({ kind: 'failed', error: gone }, { failures: 9, since: 0 }, { ...o, sourceGiveUpMs: 0 }, { now: 10_000_000, ranMs: 100 })
        .kind,
    ).toBe('probe');
  });

  it('the stream is released (acked) when it gives up; its failure was reported when the source went', () => {
    expect(settle({ kind: 'gave_up' }, ctx)).toEqual({
      abort: 'completed',
      waitForRun: false,
      disposal: { kind: 'ack_release', cause: 'completed' },
    });
  });
});
