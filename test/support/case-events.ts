import { createHash, randomUUID } from 'node:crypto';
import type { CaseClosed, CaseOpened, CaseUpdated, EvidenceFrame, EvidenceRef } from '../../src/contracts/index.js';

/**
 * Case events as the worker of issue 10 publishes them, for tests and the screenshot script that
 * play the worker's part. Every builder returns a payload its contract accepts (the contract
 * tests check that), so a console test cannot pass on a shape the worker would never send.
 */
export interface CaseSeed {
  readonly caseId: string;
  readonly streamId: string;
  readonly priority?: 'critical' | 'high' | 'normal';
  readonly openedAt?: Date;
  readonly scores?: readonly number[];
  readonly storyboard?: readonly EvidenceFrame[];
  readonly killSwitch?: boolean;
  readonly metadata?: Record<string, unknown>;
}

export function caseOpened(seed: CaseSeed, revision = 1): CaseOpened {
  const opened = seed.openedAt ?? new Date();
  const scores = seed.scores ?? [0.62, 0.71, 0.93];
  const recent = scores.map((score, i) => ({ seq: i, at: new Date(opened.getTime() + i * 1000).toISOString(), score }));
  return {
    schemaVersion: 1,
    type: 'case_opened',
    eventId: `case-${seed.caseId}-r${revision}-${randomUUID().slice(0, 8)}`,
    caseId: seed.caseId,
    revision,
    streamId: seed.streamId,
    reasonClass: 'classifier:nudity',
    priority: seed.priority ?? 'high',
    reasons: [
      { kind: 'classifier', signal: 'nudity', score: scores.at(-1) ?? 0, peak: Math.max(...scores), threshold: 0.5, recent },
      { kind: 'possible_minor', minAge: 15.2, challengeAge: 25 },
    ],
    policy: { version: 'test-policy-1', rule: 'nudity_with_minor' },
    openedAt: opened.toISOString(),
    updatedAt: new Date(opened.getTime() + scores.length * 1000).toISOString(),
    frame: { seq: scores.length - 1, pts: scores.length - 1, capturedAt: opened.toISOString() },
    storyboard: [...(seed.storyboard ?? [])],
    ...(seed.killSwitch ? { killSwitch: { eventId: `ks-${seed.streamId}`, at: opened.toISOString(), reason: 'hash_match' as const } } : {}),
    metadata: seed.metadata ?? { channel: 'synthetic test pattern', platformUser: 'u-123' },
    workerId: 'test-worker',
  };
}

export function caseUpdated(seed: CaseSeed, revision: number, change: CaseUpdated['change']): CaseUpdated {
  return { ...caseOpened(seed, revision), type: 'case_updated', change };
}

export function caseClosed(seed: CaseSeed, revision: number, closure: CaseClosed['closure']): CaseClosed {
  return { ...caseOpened(seed, revision), type: 'case_closed', closure };
}

/** An EvidenceRef for bytes stored under `name` (the digest is of the image bytes, before any encryption). */
export function evidenceRef(
  image: Uint8Array,
  where: { bucket: string; name: string; rendition: EvidenceRef['rendition']; keyId?: string; preserved?: boolean },
): EvidenceRef {
  return {
    bucket: where.bucket,
    name: where.name,
    sha256: createHash('sha256').update(image).digest('hex'),
    size: image.length,
    contentType: 'image/jpeg',
    rendition: where.rendition,
    blurred: where.rendition === 'blurred',
    preserved: where.preserved ?? where.rendition === 'original',
    encryption: where.keyId ? 'aes-256-gcm' : 'none',
    ...(where.keyId ? { keyId: where.keyId } : {}),
  };
}
