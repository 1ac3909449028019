import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openFileOutbox, type OutboxEntry } from '../../src/bridge/outbox.js';

const entry = (streamId: string, n: number): OutboxEntry => ({
  subject: `streams.started.${streamId}`,
  type: 'stream_started',
  eventId: `e-${n}`,
  payload: `{"n":${n}}`,
  streamId,
});

describe('file outbox', () => {
  it('survives a restart with its batches in order, and knows which streams wait', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
    const a = await openFileOutbox(dir);
    await a.append([entry('s1', 1), entry('s1', 2)]);
    await a.append([entry('s2', 3)]);
    // A batch half-written by a crash (its temporary file) is not a batch.
    writeFileSync(join(dir, '.0000000000000003.json.tmp'), '[{"trunc');
    const b = await openFileOutbox(dir);
    expect(b.size).toBe(2);
    expect(b.holds('s1') && b.holds('s2') && !b.holds('s3')).toBe(true);
    const sent: string[] = [];
    expect(await b.drain(async (e) => void sent.push(e.eventId))).toEqual({ left: 0 });
    expect(sent).toEqual(['e-1', 'e-2', 'e-3']);
    expect(b.holds('s1')).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toEqual([]);
  });

  it('stops at the first failure, keeps the batch, and resends it whole next time (Nats-Msg-Id dedupes)', async () => {
    const o = await openFileOutbox(mkdtempSync(join(tmpdir(), 'outbox-')));
    await o.append([entry('s1', 1), entry('s1', 2)]);
    await o.append([entry('s2', 3)]);
    const sent: string[] = [];
    const failing = await o.drain(async (e) => {
      if (e.eventId === 'e-2') throw new Error('NATS away');
      sent.push(e.eventId);
    });
    expect(failing.left).toBe(2);
    expect((failing.error as Error).message).toBe('NATS away');
    expect(await o.drain(async (e) => void sent.push(e.eventId))).toEqual({ left: 0 });
    expect(sent).toEqual(['e-1', 'e-1', 'e-2', 'e-3']);
  });
});
