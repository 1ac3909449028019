import { randomBytes } from 'node:crypto';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../src/config/index.js';
import { EvidenceFrameSchema, type AuditRecord } from '../../../src/contracts/index.js';
import type { RawFrame } from '../../../src/domain/frame.js';
import { openEvidenceBuckets } from '../../../src/worker/evidence/buckets.js';
import { createEvidenceReader } from '../../../src/worker/evidence/evidence-reader.js';
import { createEvidenceStore } from '../../../src/worker/evidence/evidence-store.js';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.js';

// Real nats-server (Object Store), real sharp, the real envelope. Frames are drawn stripes and
// gradients: no real content.

const key = randomBytes(32);
const options = resolveConfig({ evidence: { keys: { k1: key.toString('base64') }, reviewerDays: 3, preserveDays: 365 } }).stages.evidence;

function drawnFrame(seq: number, width = 64, height = 48): RawFrame {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) data.set([(x * 4 + seq * 20) % 256, ((x >> 3) % 2) * 255, y * 5], (y * width + x) * 3);
  return { streamId: 's1', seq, pts: seq, capturedAt: 1_700_000_000_000 + seq * 1000, width, height, data };
}

describe('evidence store and reader', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let js: JetStreamClient;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await server.connect();
    js = jetstream(nc);
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('stores blurred and clear greyscale reviewer copies of a storyboard, and the PNG original of the decisive frame only, sealed, in per-class buckets with their retention', async () => {
    const buckets = await openEvidenceBuckets(js, options);
    expect((await buckets.reviewer.status()).ttl).toBe(3 * 24 * 3600 * 1e9);
    expect((await buckets.preserved.status()).ttl).toBe(365 * 24 * 3600 * 1e9);
    const store = createEvidenceStore({ buckets, options });
    const frames = [0, 1, 2].map((seq) => ({ frame: drawnFrame(seq), pdqHash: 'ab'.repeat(32) }));
    const stored = await store.store({ streamId: 's1', caseId: 'case-1', frames, preserveOriginal: true });

    for (const f of stored) expect(EvidenceFrameSchema.safeParse(f).success).toBe(true);
    expect(stored.map((f) => [f.seq, f.decisive, f.renditions.map((r) => r.rendition)])).toEqual([
      [0, false, ['blurred', 'reviewer']],
      [1, false, ['blurred', 'reviewer']],
      [2, true, ['blurred', 'reviewer', 'original']],
    ]);
    const original = stored[2]!.renditions.find((r) => r.rendition === 'original')!;
    expect(original).toMatchObject({
      bucket: 'screening-evidence-preserved',
      preserved: true,
      contentType: 'image/png',
      encryption: 'aes-256-gcm',
      keyId: 'k1',
    });
    // At rest: an envelope, not an image (no JPEG or PNG signature anywhere near the start).
    const raw = await buckets.preserved.getBlob(original.name);
    expect(Buffer.from(raw!).subarray(0, 4).toString('ascii')).toBe('SSEV');
    expect(Buffer.from(raw!).includes(Buffer.from([0x89, 0x50, 0x4e, 0x47]))).toBe(false);

    const audits: AuditRecord[] = [];
    const reader = createEvidenceReader({ js, keys: options.keys, audit: async (r) => void audits.push(r) });
    const blurred = await reader.read({ ref: stored[0]!.renditions[0]!, actor: { kind: 'reviewer', id: 'alice' } });
    const meta = await sharp(blurred).metadata();
    expect([meta.format, meta.width, meta.channels]).toEqual(['jpeg', 64, 1]);
    // The original is the frame exactly as screened.
    const png = await reader.read({
      ref: original,
      actor: { kind: 'operator', id: 'ops-1' },
      why: 'NCMEC report 42',
      caseId: 'case-1',
      streamId: 's1',
    });
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([64, 48, 3]);
    expect(data.equals(frames[2]!.frame.data)).toBe(true);
    // Only the original's read was audited, with who, when, why and which object.
    expect(audits).toEqual([
      expect.objectContaining({
        type: 'audit',
        action: 'original_viewed',
        actor: { kind: 'operator', id: 'ops-1' },
        why: 'NCMEC report 42',
        caseId: 'case-1',
        evidence: { bucket: original.bucket, name: original.name, rendition: 'original', sha256: original.sha256 },
      }),
    ]);
  });

  it('refuses a preserved original without a reason, reads nothing when the audit cannot be written, and opens only with the key', async () => {
    const buckets = await openEvidenceBuckets(js, options);
    const [stored] = await createEvidenceStore({ buckets, options }).store({
      streamId: 's1',
      caseId: 'case-2',
      frames: [{ frame: drawnFrame(7) }],
      preserveOriginal: true,
    });
    const original = stored!.renditions.find((r) => r.rendition === 'original')!;
    const audits: AuditRecord[] = [];
    const reader = createEvidenceReader({ js, keys: options.keys, audit: async (r) => void audits.push(r) });
    await expect(reader.read({ ref: original, actor: { kind: 'reviewer', id: 'bob' } })).rejects.toMatchObject({
      code: 'evidence_why_required',
    });
    expect(audits).toEqual([]);

    const noAudit = createEvidenceReader({ js, keys: options.keys, audit: async () => Promise.reject(new Error('audit stream down')) });
    await expect(noAudit.read({ ref: original, actor: { kind: 'reviewer', id: 'bob' }, why: 'x' })).rejects.toThrow('audit stream down');

    const wrongKey = createEvidenceReader({ js, keys: new Map([['k1', randomBytes(32)]]), audit: async () => {} });
    await expect(wrongKey.read({ ref: original, actor: { kind: 'reviewer', id: 'bob' }, why: 'x' })).rejects.toMatchObject({
      code: 'evidence_auth_failed',
    });
    const noKey = createEvidenceReader({ js, keys: new Map(), audit: async () => {} });
    await expect(noKey.read({ ref: original, actor: { kind: 'reviewer', id: 'bob' }, why: 'x' })).rejects.toMatchObject({
      code: 'evidence_key_unknown',
    });
  });

  it('is off without a key: evidence is never stored unencrypted', () => {
    const off = resolveConfig({}).stages.evidence;
    expect(off.enabled).toBe(false);
    expect(() => createEvidenceStore({ buckets: {} as never, options: off })).toThrow(/sealing key/);
    expect(() => resolveConfig({ evidence: { keys: { a: key.toString('base64'), b: key.toString('base64') } } })).toThrow();
    expect(() => resolveConfig({ evidence: { keys: { a: 'c2hvcnQ=' } } })).toThrow(/32 bytes/);
  });
});
