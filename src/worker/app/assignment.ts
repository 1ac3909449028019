import type { ScreeningOutcome } from '../../domain/screening-outcome.js';
import type { ScreeningAssignment } from '../intake/index.js';
import type { StreamScreener } from '../pipeline/stream-screener.js';

/**
 * Intake's assignment handed to the screener. The outcome goes back as a value: intake settles
 * it (intake/settlement.ts), this side decides nothing about acks or retries.
 */
export function onAssignmentFor(screener: StreamScreener): (a: ScreeningAssignment) => Promise<ScreeningOutcome> {
  return (a) =>
    screener.screen({
      start: a.start,
      signal: a.signal,
      publishSignal: a.publishSignal,
      runId: a.runId,
      assertOwned: () => a.assertOwned(),
    });
}
