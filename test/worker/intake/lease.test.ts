import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KV } from '@nats-io/kv';
import { LeaseStore, type HeldLease, type LeaseClock, type LeaseValue } from '../../../src/worker/intake/lease.js';
import { ensureLeaseBucket } from '../../../src/worker/intake/index.js';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.js';
import { harness, testOptions, type Harness } from './helpers.js';

// The lease's repair rules on a real bucket: what a refused renewal leads to depends on what a
// read of the entry then shows (lease.ts, HeldLease.reconcile).

describe('a held lease whose entry changed behind its back', () => {
  let server: NatsServerHandle;
  let h: Harness;
  let kv: KV;
  const o = testOptions('lease');
  let mono = 0;
  const clock: LeaseClock = { wallMs: () => Date.now(), monoMs: () => mono };

  beforeAll(async () => {
    server = await startNatsServer();
    h = await harness(server.url);
    kv = await ensureLeaseBucket(h.js, o);
  });
  afterAll(async () => {
    await h?.close();
    await server?.stop();
  });

  const acquire = async (streamId: string): Promise<HeldLease> => {
    const r = await new LeaseStore(kv, 'worker-A', o, clock).acquire(streamId);
    if (r.kind !== 'acquired') throw new Error(`not acquired: ${JSON.stringify(r)}`);
    return r.lease;
  };
  const entry = async (streamId: string): Promise<LeaseValue | undefined> => {
    const e = await kv.get(streamId);
    return e?.operation === 'PUT' ? e.json<LeaseValue>() : undefined;
  };

  it('renews and verifies while the entry is its own', async () => {
    const lease = await acquire('plain');
    expect(await lease.renew()).toEqual({ outcome: 'renewed' });
    expect(await lease.verify()).toBe('owned');
    expect((await kv.get('plain'))!.revision).toBe(lease.revision);
  });

  it('adopts a moved revision that still carries its leaseId, and says it was an anomaly', async () => {
    const lease = await acquire('moved');
    // Our own value written again by something else (a restore, a replayed write).
    const value = (await entry('moved'))!;
    await kv.put('moved', JSON.stringify({ ...value, renewedAt: 'replayed' }));
    expect(await lease.renew()).toEqual({ outcome: 'renewed', repaired: 'adopted', anomaly: 'revision_mismatch' });
    expect((await kv.get('moved'))!.revision).toBe(lease.revision);
    expect(await lease.verify()).toBe('owned');
  });

  it('creates a vanished entry again; an anomaly only when the server could not have expired it', async () => {
    const deleted = await acquire('deleted');
    await kv.delete('deleted');
    expect(await deleted.verify()).toBe('unknown');
    expect(await deleted.renew()).toEqual({ outcome: 'renewed', repaired: 'recreated', anomaly: 'vanished' });
    expect((await entry('deleted'))?.leaseId).toBeDefined();
    expect(await deleted.verify()).toBe('owned');

    // Unconfirmed for longer than the TTL (an outage): the server may have expired it; no anomaly.
    const expired = await acquire('expired');
    await kv.purge('expired');
    mono += o.leaseTtlMs + 1;
    expect(await expired.renew()).toEqual({ outcome: 'renewed', repaired: 'recreated' });
  });

  it('stops only on evidence: another worker in the entry', async () => {
    const lease = await acquire('taken');
    const value = (await entry('taken'))!;
    await kv.put('taken', JSON.stringify({ ...value, workerId: 'worker-B', leaseId: 'theirs' }));
    expect(await lease.renew()).toEqual({ outcome: 'lost', holder: 'worker-B' });
    expect(lease.lost).toBe(true);
    expect(await lease.verify()).toBe('lost');
  });

  it('an unanswered renewal (the server restarting) is never taken for a lost lease', async () => {
    const lease = await acquire('cut');
    await server.restart();
    // Whatever the first renewals after a restart say, none of them is "lost".
    for (let i = 0; i < 5; i++) expect((await lease.renew()).outcome).not.toBe('lost');
    expect(await lease.verify()).toBe('owned');
  });
});
