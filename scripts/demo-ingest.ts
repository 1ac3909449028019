/**
 * `npm run demo -- --ingest nginx`: the loop closed on a real ingest, on one machine.
 *
 * Starts nats-server, nginx with Debian's RTMP module (on_publish pointing at the bridge, the
 * control module for the enforcer), and streamscreen worker, bridge and enforcer from dist/.
 * Two encoders publish: a clean test pattern, and one that switches to a drawn (benign) image
 * whose PDQ hash is on the kill list. The second is cut off by nginx, its reconnect with the same
 * key is refused, and the clean one keeps running. Prints each step and the audit trail.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import type { EnforcementAction, KillSwitchEvent, PublisherRecord } from '../src/contracts/index.js';
import { collectEvents } from '../test/support/jetstream-events.js';
import { eventually } from '../test/support/eventually.js';
import { CLI, startIngestLoop } from '../test/support/ingest-loop.js';
import { defaultFfmpegPath } from '../test/support/live-source.js';
import { nginxRtmpMissing } from '../test/support/nginx-rtmp.js';
import { startRtmpPublisher } from '../test/support/rtmp-publisher.js';

const IMAGE_AFTER_S = 5;
const say = (text: string) => process.stdout.write(`demo: ${text}\n`);

export async function runIngestDemo(): Promise<number> {
  const missing = nginxRtmpMissing();
  if (missing) {
    process.stderr.write(`demo: nginx with the RTMP module is needed: ${missing}\n  sudo apt-get install nginx libnginx-mod-rtmp\n`);
    return 1;
  }
  if (!existsSync(CLI)) {
    process.stderr.write(`demo: ${CLI} is missing: run npm run build first\n`);
    return 1;
  }
  const dir = mkdtempSync(join(tmpdir(), 'streamscreen-demo-'));
  const cleanups: Array<() => unknown> = [() => rmSync(dir, { recursive: true, force: true })];
  try {
    const image = join(dir, 'known-image.png');
    const drawn = spawnSync(defaultFfmpegPath(), [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'mandelbrot=s=640x480',
      '-frames:v',
      '1',
      '-y',
      image,
    ]);
    if (drawn.status !== 0) throw new Error(`ffmpeg could not draw the demo image: ${drawn.stderr.toString()}`);

    say('starting nats-server, nginx-rtmp, and streamscreen worker, bridge and enforcer...');
    const loop = await startIngestLoop({ listImage: image });
    cleanups.unshift(() => loop.stop());
    say(
      `nginx-rtmp at rtmp://127.0.0.1:${loop.nginx.rtmpPort}/live, on_publish -> bridge at http://127.0.0.1:${loop.bridgePort}/hooks/nginx-1`,
    );
    say(`kill list: ${loop.listHash} (the PDQ hash of a drawn, benign image)`);

    const nc = await loop.nats.connect();
    cleanups.unshift(() => nc.close());
    const kills = await collectEvents<KillSwitchEvent>(nc, 'SCREENING_DECISIONS', 'screening.killswitch.>');
    const audit = await collectEvents<EnforcementAction>(nc, 'ENFORCEMENT_AUDIT', 'enforcement.actions.>');
    cleanups.unshift(() => Promise.all([kills.stop(), audit.stop()]));

    const clean = startRtmpPublisher(loop.publishUrl('clean-key'), { pattern: 'testsrc2' });
    const victim = startRtmpPublisher(loop.publishUrl('victim-key'), { pattern: 'testsrc2', image, imageAfterSec: IMAGE_AFTER_S });
    cleanups.unshift(() => Promise.all([clean.stop(), victim.stop()]));
    say(`two encoders publishing: live/clean-key (a test pattern) and live/victim-key (shows the known image after ${IMAGE_AFTER_S} s)`);

    const records = await new Kvm(nc).open('screening-publishers');
    const record = await eventually(
      async () => {
        for await (const k of await records.keys()) {
          const r = (await records.get(k))?.json<PublisherRecord>();
          if (r?.target.name === 'victim-key') return r;
        }
        return undefined;
      },
      20_000,
      "the bridge's record of the publish",
      100,
    );
    say(
      `bridge allowed the publish as stream ${record.streamId}: publisher ${record.target.publisherIp}, nginx client ${record.target.clientId}`,
    );

    const exit = await Promise.race([victim.exited, new Promise<null>((r) => setTimeout(() => r(null), 60_000))]);
    if (!exit) throw new Error('the encoder was not cut off within 60 s');
    const kill = kills.events.find((k) => k.streamId === record.streamId)!;
    const firstMatch = Date.parse(record.startedAt) + IMAGE_AFTER_S * 1000;
    say(`worker kill-switch on list '${kill.match!.list}' at distance ${kill.match!.distance}`);
    say(`nginx dropped the encoder ${exit.at - firstMatch} ms after the first frame showing the image left it`);

    const retry = startRtmpPublisher(loop.publishUrl('victim-key'), { pattern: 'testsrc2' });
    cleanups.unshift(() => retry.stop());
    const refused = await Promise.race([retry.exited, new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    say(refused ? 'the encoder reconnected with the same key: refused (blocked)' : 'the reconnect was NOT refused');

    say(`the clean stream is ${clean.alive() ? 'still publishing' : 'NOT running'}`);
    say('audit trail (enforcement.actions):');
    for (const a of audit.events.filter((e) => e.streamId === record.streamId)) {
      process.stdout.write(
        `  ${a.at} ${a.action} ${a.result}${a.detail ? `: ${a.detail}` : ''}${a.blockKeys ? ` [${a.blockKeys.join(', ')}]` : ''}\n`,
      );
    }
    say(`an operator lifts such a block with: streamscreen block lift --stream ${record.streamId} --by <name>`);
    return refused && clean.alive() ? 0 : 1;
  } finally {
    for (const cleanup of cleanups) await Promise.resolve(cleanup()).catch(() => undefined);
  }
}
