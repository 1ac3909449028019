import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { getVerified, putVerified, sha256Hex } from '../../src/nats/index.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

describe('verified objects', () => {
  let server: NatsServerHandle;
  let nc: NatsConnection;
  let os: ObjectStore;
  beforeAll(async () => {
    server = await startNatsServer();
    nc = await server.connect();
    os = await new Objm(jetstream(nc)).create('verified');
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('round-trips bytes with their digest and refuses bytes that do not match it', async () => {
    const bytes = new TextEncoder().encode('evidence bytes');
    const sha = await putVerified(os, 'a', bytes, { kind: 'test' });
    expect(sha).toBe(sha256Hex(bytes));
    const got = await getVerified(os, 'a');
    expect(Buffer.from(got!.bytes).toString()).toBe('evidence bytes');
    expect(got!.metadata).toMatchObject({ kind: 'test', sha256: sha });
    await expect(getVerified(os, 'a', '0'.repeat(64))).rejects.toMatchObject({ code: 'object_integrity' });
    // Someone replaces the bytes without the digest: the reader notices.
    await os.putBlob({ name: 'a', metadata: { sha256: sha } }, new TextEncoder().encode('other bytes'));
    await expect(getVerified(os, 'a')).rejects.toMatchObject({ name: 'ObjectIntegrityError' });
    expect(await getVerified(os, 'missing')).toBeNull();
  });
});
