import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/index.js';

const nginx = {
  id: 'nginx-1',
  kind: 'nginx-rtmp',
  secret: 'a-long-enough-secret',
  pullUrl: 'rtmp://nginx-1.internal:1935/{app}/{name}',
  control: { url: 'http://nginx-1.internal:8080/control' },
};

function issues(input: unknown): string[] {
  const r = ConfigSchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('ingests, bridge and enforcer configuration', () => {
  it('defaults: loopback bridge, fail-open, 24 h blocks, permanent for hash kills, key and stream scopes', () => {
    const c = ConfigSchema.parse({ ingests: [nginx] });
    expect(c.ingests[0]!.streamId).toBe('{ingest}-{app}-{nameHash}');
    expect(c.bridge).toMatchObject({ host: '127.0.0.1', failMode: 'open', natsTimeoutMs: 250 });
    expect(c.enforcer).toMatchObject({ blockMs: 86_400_000, hashKillsPermanent: true, blockScopes: ['key', 'stream'] });
  });

  it('refuses an unknown template placeholder, a stream id that is the same for every stream, a relative pull URL', () => {
    const found = issues({
      ingests: [
        { ...nginx, pullUrl: 'rtmp://h/{application}/{name}' },
        { ...nginx, id: 'n2', streamId: '{ingest}-{app}' },
        { ...nginx, id: 'n3', pullUrl: '/live/{name}' },
      ],
    });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/ingests\.0\.pullUrl: pullUrl: unknown placeholder \{application\}/),
        expect.stringMatching(/ingests\.1\.streamId: streamId must use/),
        expect.stringMatching(/ingests\.2\.pullUrl: pullUrl must be an absolute URL/),
      ]),
    );
  });

  it('lists cross-field problems together: duplicate ids, retry cap below its base, ack wait too short for a kick', () => {
    const found = issues({
      ingests: [nginx, nginx],
      enforcer: { retryBaseMs: 1000, retryMaxMs: 10, kickTimeoutMs: 5000, ackWaitMs: 6000 },
    });
    expect(found).toEqual(
      expect.arrayContaining([
        "ingests: duplicate ingest id 'nginx-1'",
        'enforcer.retryMaxMs: must be >= retryBaseMs',
        'enforcer.ackWaitMs: must be more than twice kickTimeoutMs',
      ]),
    );
  });

  it('refuses a short secret and half a basic-auth pair', () => {
    const found = issues({ ingests: [{ ...nginx, secret: 'short', control: { url: 'http://h:1', username: 'u' } }] });
    expect(found).toEqual(
      expect.arrayContaining([
        'ingests.0.secret: secret: at least 16 characters',
        'ingests.0.control: control.username and control.password go together',
      ]),
    );
  });
});
