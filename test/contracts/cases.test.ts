import { describe, expect, it } from 'vitest';
import {
  AuditRecordSchema,
  CaseClosedSchema,
  CaseEventSchema,
  CaseOpenedSchema,
  CaseUpdatedSchema,
  EvidenceFrameSchema,
  EvidenceRefSchema,
  ReviewAckSchema,
  ReviewDecisionSchema,
  sharedStreams,
} from '../../src/contracts/index.js';
import { expectContract } from '../support/contract.js';
import { caseClosed, caseOpened, caseUpdated, evidenceRef } from '../support/case-events.js';

const seed = { caseId: 'case-1', streamId: 's1' };
const jpeg = new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3]);
const ref = evidenceRef(jpeg, { bucket: 'screening-evidence', name: 's1/case-1/7-reviewer.jpg', rendition: 'reviewer', keyId: 'k2026' });
const decision = {
  schemaVersion: 1,
  type: 'review_decision',
  decisionId: 'd-1',
  caseId: 'case-1',
  streamId: 's1',
  caseRevision: 3,
  decision: 'confirm',
  reviewer: 'alice',
  decidedAt: '2026-01-01T00:00:00Z',
  source: 'console',
} as const;

describe('case events', () => {
  it('opened, updated and closed events of the test worker meet their contracts, on their subjects', () => {
    expectContract('screening.escalation.opened.s1', caseOpened(seed));
    expectContract('screening.escalation.updated.s1', caseUpdated(seed, 2, ['scores', 'evidence']));
    expectContract('screening.escalation.closed.s1', caseClosed(seed, 3, { cause: 'stream_ended', at: '2026-01-01T00:00:00Z' }));
    expect(CaseEventSchema.parse(caseUpdated(seed, 2, ['scores'])).type).toBe('case_updated');
  });

  it('refuses a case without reasons, with revision 0, or an update that says nothing changed', () => {
    expect(CaseOpenedSchema.safeParse({ ...caseOpened(seed), reasons: [] }).success).toBe(false);
    expect(CaseOpenedSchema.safeParse({ ...caseOpened(seed), revision: 0 }).success).toBe(false);
    expect(CaseUpdatedSchema.safeParse({ ...caseUpdated(seed, 2, ['scores']), change: [] }).success).toBe(false);
    expect(CaseClosedSchema.safeParse({ ...caseOpened(seed), type: 'case_closed' }).success).toBe(false);
  });

  it('carries an unscreened reason (fail-safe) without a frame', () => {
    const { frame: _f, ...rest } = caseOpened(seed);
    const unscreened = { ...rest, reasonClass: 'unscreened', reasons: [{ kind: 'unscreened', code: 'source_failed', message: 'gone' }] };
    expect(CaseOpenedSchema.safeParse(unscreened).success).toBe(true);
  });
});

describe('evidence references', () => {
  it('requires a key id exactly when the object is encrypted', () => {
    expect(EvidenceRefSchema.safeParse(ref).success).toBe(true);
    expect(EvidenceRefSchema.safeParse({ ...ref, keyId: undefined }).success).toBe(false);
    expect(EvidenceRefSchema.safeParse({ ...ref, encryption: 'none' }).success).toBe(false);
  });

  it('allows one reference per rendition in a storyboard frame', () => {
    const frame = { seq: 7, capturedAt: '2026-01-01T00:00:00Z', decisive: true, renditions: [ref] };
    expect(EvidenceFrameSchema.safeParse(frame).success).toBe(true);
    expect(EvidenceFrameSchema.safeParse({ ...frame, renditions: [ref, ref] }).success).toBe(false);
    expect(CaseOpenedSchema.safeParse(caseOpened({ ...seed, storyboard: [frame] })).success).toBe(true);
  });
});

describe('review decisions, acks and audit', () => {
  it('accepts the four decisions, add-to-list only with its list', () => {
    for (const d of ['confirm', 'dismiss', 'escalate'] as const)
      expect(ReviewDecisionSchema.safeParse({ ...decision, decision: d }).success).toBe(true);
    const list = { id: 'escalate-local', action: 'escalate', hash: 'ab'.repeat(32) };
    expect(ReviewDecisionSchema.safeParse({ ...decision, decision: 'add-to-list', list }).success).toBe(true);
    expect(ReviewDecisionSchema.safeParse({ ...decision, decision: 'add-to-list' }).success).toBe(false);
    expect(ReviewDecisionSchema.safeParse({ ...decision, list }).success).toBe(false);
    expect(ReviewDecisionSchema.safeParse({ ...decision, decision: 'maybe' }).success).toBe(false);
    expect(ReviewDecisionSchema.safeParse({ ...decision, decisionId: 'has.dot' }).success).toBe(false);
  });

  it('acknowledges with the resulting case state', () => {
    const ack = {
      schemaVersion: 1,
      type: 'review_ack',
      eventId: 'ack-d-1',
      decisionId: 'd-1',
      caseId: 'case-1',
      streamId: 's1',
      decision: 'confirm',
      reviewer: 'alice',
      result: 'applied',
      caseState: { state: 'closed', killSwitchEventId: 'ks-1' },
      at: '2026-01-01T00:00:01Z',
      workerId: 'w1',
    };
    expectContract('screening.reviewed.s1', ack);
    expect(ReviewAckSchema.safeParse({ ...ack, result: 'maybe' }).success).toBe(false);
    expectContract('screening.review.s1', decision);
  });

  it('audits who viewed which preserved original, and why', () => {
    const rec = {
      schemaVersion: 1,
      type: 'audit',
      eventId: 'a-1',
      at: '2026-01-01T00:00:00Z',
      actor: { kind: 'reviewer', id: 'alice' },
      action: 'original_viewed',
      caseId: 'case-1',
      streamId: 's1',
      evidence: { bucket: ref.bucket, name: ref.name, rendition: 'original', sha256: ref.sha256 },
      why: 'confirming before report',
    };
    expectContract('screening.audit', rec);
    expect(AuditRecordSchema.safeParse({ ...rec, action: 'peeked' }).success).toBe(false);
  });

  it('shared streams do not overlap the per-frame escalation subjects', () => {
    const s = sharedStreams();
    expect(s.cases.subjects).toEqual(['screening.escalation.opened.*', 'screening.escalation.updated.*', 'screening.escalation.closed.*']);
    expect(s.review.subjects).toEqual(['screening.review.*', 'screening.reviewed.*']);
  });
});
