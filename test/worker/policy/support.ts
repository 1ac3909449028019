import type { FrameRef, HashMatch } from '../../../src/contracts/index.js';
import type { FrameSignals } from '../../../src/domain/signals.js';
import type { PolicyOptions } from '../../../src/config/index.js';
import type { CaseEffect, Effect, FrameAnalysis, KillSwitchEffect, PolicyContext } from '../../../src/worker/policy/index.js';
import { policyOptions } from '../../support/stage-options.js';

/** The deployed defaults, with one drop-in signal configured and smoothing at its default 3 of 5. */
export const options: PolicyOptions = policyOptions({ customEscalateAt: { vendor_csam: 0.7 } });
/** Smoothing off (1 of 1): for the rules themselves. */
export const unsmoothed: PolicyOptions = policyOptions({ customEscalateAt: { vendor_csam: 0.7 }, smoothing: { k: 1, n: 1 } });

export const ctx: PolicyContext = { streamId: 's1', runId: 'run-1', workerId: 'w1', metadata: { channel: 'c-9' } };

export const killMatch: HashMatch = { list: 'confirmed', distance: 12, hash: 'a'.repeat(64), action: 'kill' };
export const nearerKill: HashMatch = { list: 'other', distance: 3, hash: 'b'.repeat(64), action: 'kill' };
export const escalateMatch: HashMatch = { list: 'suspected', distance: 20, hash: 'c'.repeat(64), action: 'escalate' };

export const face = (age: number) => ({ box: [0, 0, 10, 10] as const, score: 0.9, age });
export const explicit = (porn: number, ages: number[] = []): FrameSignals => ({
  nudity: { porn, hentai: 0, neutral: 1 - porn },
  ...(ages.length ? { faces: ages.map(face) } : {}),
});
export const clean: FrameSignals = { nudity: { neutral: 0.99, porn: 0.01 }, faces: [] };

export function frame(seq: number, over: Partial<Omit<FrameAnalysis, 'seq'>> = {}): FrameAnalysis {
  const capturedAt = over.capturedAt ?? seq * 1000;
  const ref = (): FrameRef => ({ seq, pts: seq, capturedAt: new Date(capturedAt).toISOString(), hash: 'd'.repeat(64), quality: 90 });
  return { capturedAt, seq, matches: [], ref, ...over };
}

export const kills = (effects: readonly Effect[]): KillSwitchEffect[] =>
  effects.filter((e): e is KillSwitchEffect => e.kind === 'killswitch');
export const caseEffects = (effects: readonly Effect[]): CaseEffect[] => effects.filter((e): e is CaseEffect => e.kind === 'case');
export const types = (effects: readonly Effect[]): string[] => effects.map((e) => (e.kind === 'case' ? e.type : e.kind));
