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
});
