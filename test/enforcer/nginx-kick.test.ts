import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kickClientFor, type KickRequest } from '../../src/enforcer/kick/index.js';
import { nginxRtmpMissing, startNginxRtmp, type NginxRtmp } from '../support/nginx-rtmp.js';
import { eventually } from '../support/eventually.js';
import { freePort } from '../support/free-port.js';
import { startRtmpPublisher, type RtmpPublisher } from '../support/rtmp-publisher.js';

// The nginx-rtmp kick against a real nginx with Debian's RTMP module: its control module's
// drop/publisher answers with the number of sessions dropped.
describe.skipIf(nginxRtmpMissing())('nginx-rtmp kick (control module drop/publisher)', () => {
  let nginx: NginxRtmp;
  const publishers: RtmpPublisher[] = [];
  beforeAll(async () => {
    nginx = await startNginxRtmp();
  });
  afterAll(async () => {
    await Promise.all(publishers.map((p) => p.stop()));
    await nginx?.stop();
  });

  const request = (name: string, url = nginx.controlUrl): KickRequest => ({
    ingest: {
      id: 'nginx-1',
      kind: 'nginx-rtmp',
      secret: 'x'.repeat(16),
      pullUrl: 'rtmp://h/{app}/{name}',
      streamId: '{nameHash}',
      control: { url },
    },
    streamId: 's1',
    target: { app: 'live', name, clientId: '1' },
    killSwitchEventId: 'ks-1',
  });

  it('drops the publisher of a live stream, and leaves another stream alone', async () => {
    const victim = startRtmpPublisher(nginx.rtmpUrl('live', 'victim-key'), { width: 160, height: 120, fps: 10 });
    const bystander = startRtmpPublisher(nginx.rtmpUrl('live', 'other-key'), { width: 160, height: 120, fps: 10 });
    publishers.push(victim, bystander);
    const kick = kickClientFor('nginx-rtmp');
    // Until nginx has the publish, the drop finds nobody.
    const first = await eventually(
      async () => {
        const r = await kick.kick(request('victim-key'), AbortSignal.timeout(2_000));
        return r.kind === 'done' ? r : undefined;
      },
      10_000,
      'the drop to find the publisher',
      200,
    );
    expect(first.detail).toBe('nginx-rtmp dropped 1 publisher session(s)');
    const exit = await Promise.race([victim.exited, new Promise<null>((r) => setTimeout(() => r(null), 5_000))]);
    expect(exit, 'the dropped encoder exits').not.toBeNull();
    expect(await kick.kick(request('victim-key'), AbortSignal.timeout(2_000))).toMatchObject({ kind: 'already_gone' });
    expect(bystander.alive()).toBe(true);
  }, 30_000);

  it('reports an unreachable control location as retryable', async () => {
    const r = await kickClientFor('nginx-rtmp').kick(
      request('k', `http://127.0.0.1:${await freePort()}/control`),
      AbortSignal.timeout(2_000),
    );
    expect(r).toMatchObject({ kind: 'failed', retryable: true });
  });
});
