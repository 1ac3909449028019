import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EvidenceError, envelopeKeyId, openEvidence, sealEvidence } from '../../src/domain/evidence-envelope.js';

const key = { id: 'k2026', key: randomBytes(32) };
const keys = new Map([[key.id, key.key]]);

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof EvidenceError ? err.code : `not an EvidenceError: ${String(err)}`;
  }
  return 'no error';
}

describe('evidence envelope (AES-256-GCM)', () => {
  it('round-trips any bytes and names its key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (plain) => {
        const sealed = sealEvidence(plain, key);
        expect(envelopeKeyId(sealed)).toBe('k2026');
        expect(sealed.length).toBe(4 + 1 + 1 + 5 + 12 + plain.length + 16);
        expect(Buffer.compare(openEvidence(sealed, keys), Buffer.from(plain))).toBe(0);
      }),
      { numRuns: 50 },
    );
  });

  it('has the documented layout: magic, version, key id, nonce, ciphertext, tag', () => {
    const nonce = Buffer.alloc(12, 7);
    const sealed = sealEvidence(Buffer.from('image'), key, nonce);
    expect(sealed.subarray(0, 4).toString('ascii')).toBe('SSEV');
    expect(sealed[4]).toBe(1);
    expect(sealed[5]).toBe(5);
    expect(sealed.subarray(6, 11).toString('ascii')).toBe('k2026');
    expect(sealed.subarray(11, 23).equals(nonce)).toBe(true);
    expect(sealed.subarray(23, 28).toString()).not.toBe('image');
  });

  it('any changed byte, header included, fails authentication or parsing; nothing decrypts silently', () => {
    const sealed = sealEvidence(randomBytes(64), key);
    fc.assert(
      fc.property(fc.nat({ max: sealed.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const bad = Buffer.from(sealed);
        bad[at] = bad[at]! ^ flip;
        expect(['evidence_auth_failed', 'evidence_envelope_invalid', 'evidence_key_unknown']).toContain(
          codeOf(() => openEvidence(bad, keys)),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('says which key is missing, and refuses a wrong key, a truncated object and plain bytes', () => {
    const sealed = sealEvidence(Buffer.from('image'), key);
    expect(codeOf(() => openEvidence(sealed, new Map()))).toBe('evidence_key_unknown');
    expect(codeOf(() => openEvidence(sealed, new Map([['k2026', randomBytes(32)]])))).toBe('evidence_auth_failed');
    expect(codeOf(() => openEvidence(sealed.subarray(0, 30), keys))).toBe('evidence_envelope_invalid');
    expect(codeOf(() => openEvidence(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 1, 2]), keys))).toBe('evidence_envelope_invalid');
  });

  it('refuses bad keys when sealing', () => {
    expect(() => sealEvidence(Buffer.from('x'), { id: 'k', key: randomBytes(16) })).toThrow(/32-byte/);
    expect(() => sealEvidence(Buffer.from('x'), { id: 'bad id', key: randomBytes(32) })).toThrow(/key id/);
  });
});
