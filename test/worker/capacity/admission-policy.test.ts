import { describe, expect, it } from 'vitest';
import { ADMITTING, decideAdmission, type AdmissionInput } from '../../../src/worker/capacity/admission-policy.js';
import { resolveConfig } from '../../../src/config/index.js';

const thresholds = resolveConfig().stages.capacity.admit;
const base: AdmissionInput = {
  mode: 'measured',
  held: 10,
  maxStreams: 48,
  signals: { cpu: 0.5, elu: 0.3, breaches: 0 },
  settling: 0,
  streamCpu: 0.05,
  degradationLevel: 0,
  previous: ADMITTING,
};
const decide = (over: Partial<AdmissionInput>) => decideAdmission({ ...base, ...over }, thresholds);

describe('measured admission (pure)', () => {
  it('admits while every measure leaves room, and says which one is out of it', () => {
    expect(decide({})).toEqual({ kind: 'admitting' });
    expect(decide({ signals: { cpu: 0.79, elu: 0.3, breaches: 0 } })).toEqual({ kind: 'full', reason: 'cpu' });
    expect(decide({ signals: { cpu: 0.5, elu: 0.85, breaches: 0 } })).toEqual({ kind: 'full', reason: 'elu' });
    expect(decide({ signals: { cpu: 0.5, elu: 0.3, breaches: 0.02 } })).toEqual({ kind: 'full', reason: 'breaches' });
    expect(decide({ degradationLevel: 1 })).toEqual({ kind: 'full', reason: 'degraded' });
    expect(decide({ held: 48 })).toEqual({ kind: 'full', reason: 'cap' });
  });

  it('counts streams admitted lately, and the next one, at their expected cost', () => {
    // 0.5 measured + (6 settling + 1 next) * 0.05 = 0.85 >= 0.8
    expect(decide({ settling: 6 })).toEqual({ kind: 'full', reason: 'cpu' });
    expect(decide({ settling: 4 })).toEqual({ kind: 'admitting' });
  });

  it('resumes only below the limit by the margin once full for that reason', () => {
    const full = { kind: 'full', reason: 'cpu' } as const;
    // 0.72 + 0.05 = 0.77: under 0.8 but not under 0.8 * 0.95 = 0.76.
    expect(decide({ signals: { cpu: 0.72, elu: 0.3, breaches: 0 } })).toEqual({ kind: 'admitting' });
    expect(decide({ signals: { cpu: 0.72, elu: 0.3, breaches: 0 }, previous: full })).toEqual(full);
    expect(decide({ signals: { cpu: 0.7, elu: 0.3, breaches: 0 }, previous: full })).toEqual({ kind: 'admitting' });
  });

  it('lets one stream in when none is held, and ignores unknown measures', () => {
    expect(decide({ held: 0, signals: { cpu: 0.99, elu: 0.99, breaches: 0.5 } })).toEqual({ kind: 'admitting' });
    expect(decide({ signals: { cpu: undefined, elu: undefined, breaches: undefined } })).toEqual({ kind: 'admitting' });
  });

  it('in fixed mode only the cap counts', () => {
    expect(decide({ mode: 'fixed', signals: { cpu: 0.99, elu: 0.99, breaches: 0.5 }, degradationLevel: 3 })).toEqual({ kind: 'admitting' });
    expect(decide({ mode: 'fixed', held: 48 })).toEqual({ kind: 'full', reason: 'cap' });
  });
});
