import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer, type NatsServerHandle } from './nats-server.js';

describe('test nats-server harness', () => {
  let server: NatsServerHandle;
  beforeAll(async () => {
    server = await startNatsServer();
  });
  afterAll(async () => server?.stop());

  it('serves JetStream and survives a restart with its store', async () => {
    let nc = await server.connect();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'HARNESS', subjects: ['harness.>'] });
    await nc.close();
    await server.restart();
    nc = await server.connect();
    const info = await (await jetstreamManager(nc)).streams.info('HARNESS');
    expect(info.config.subjects).toEqual(['harness.>']);
    await nc.close();
  });

  it('listens on the port the server picked and reported, one per server started side by side', async () => {
    const [a, b] = await Promise.all([startNatsServer(), startNatsServer()]);
    try {
      expect(a.port).not.toBe(b.port);
      for (const s of [a, b]) {
        expect(s.url).toBe(`nats://127.0.0.1:${s.port}`);
        const nc = await s.connect();
        expect(nc.info?.port).toBe(s.port);
        await nc.close();
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
