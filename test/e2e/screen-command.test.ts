import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/commands/screen.js';
import type { CaseEvent, KillSwitchEvent, ScreeningFailureEvent } from '../../src/contracts/index.js';
import { pdqToHex } from '../../src/domain/pdq.js';
import { createPdqHasher } from '../../src/hash/pdq-hasher.js';
import { readRgbImage } from '../../src/worker/sampler/image-file.js';
import { captureIO as capture } from '../support/capture-io.js';
import { expectContract } from '../support/contract.js';
import { defaultFfmpegPath } from '../support/live-source.js';
import { ALLOW_LOOPBACK } from '../support/egress.js';

const BRIDGE = fileURLToPath(new URL('../../../shared/pdq-vectors/decoded/bridge-1-original.png', import.meta.url));

type Printed = KillSwitchEvent | CaseEvent | ScreeningFailureEvent;

const SUBJECT: Record<Printed['type'], string> = {
  killswitch: 'screening.killswitch',
  case_opened: 'screening.escalation.opened',
  case_updated: 'screening.escalation.updated',
  case_closed: 'screening.escalation.closed',
  failure: 'screening.failure',
};

/** The JSON lines the command printed, each checked against its contract. */
function printed(out: string): Printed[] {
  const events = out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Printed);
  for (const e of events) expectContract(`${SUBJECT[e.type]}.${e.streamId}`, e);
  return events;
}

describe('streamscreen screen', () => {
  let dir: string;
  let list: string;
  let config: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'streamscreen-screen-'));
    list = join(dir, 'known.txt');
    writeFileSync(list, `${pdqToHex(createPdqHasher().hash(await readRgbImage(BRIDGE)).hash)}\tbridge\n`);
    config = join(dir, 'streamscreen.json');
    writeFileSync(
      config,
      JSON.stringify({
        classify: { enabled: false },
        log: { level: 'silent' },
        // Loopback is allow-listed: the source policy refuses it by default.
        sampler: {
          maxRestarts: 1,
          backoffBaseMs: 100,
          backoffMaxMs: 200,
          rwTimeoutMs: 1000,
          stallTimeoutMs: 3000,
          allowHosts: ALLOW_LOOPBACK,
        },
      }),
    );
  });

  it('prints a kill-switch JSON line for a file that shows a listed image, and exits 0 at its end', async () => {
    const video = join(dir, 'clip.mp4');
    // 2 s of test pattern, then 2 s of the listed image.
    const made = spawnSync(defaultFfmpegPath(), [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=320x240:r=10:d=2',
      '-loop',
      '1',
      '-t',
      '2',
      '-r',
      '10',
      '-i',
      BRIDGE,
      '-filter_complex',
      '[1:v]scale=320:240,setsar=1[img];[0:v][img]concat=n=2:v=1',
      '-pix_fmt',
      'yuv420p',
      '-y',
      video,
    ]);
    expect(made.status, made.stderr.toString()).toBe(0);
    const c = capture();
    const code = await run([video, '--allow-files', '--lists', list, '--stream-id', 'clip-1', '--config', config], c.io);
    expect(code).toBe(0);
    const lines = printed(c.out());
    // The decision with its rule and case, the case it opened (critical, carrying the kill-switch), and its close at the end.
    expect(
      lines.map((e) => e.type),
      c.out(),
    ).toEqual(['killswitch', 'case_opened', 'case_closed']);
    const [kill, opened, closed] = lines as [KillSwitchEvent, CaseEvent, CaseEvent];
    expect(kill).toMatchObject({ streamId: 'clip-1', match: { list: 'known', label: 'bridge' }, policy: { rule: 'kill_list_match' } });
    expect(kill.frame!.pts).toBeGreaterThanOrEqual(2);
    expect(opened).toMatchObject({
      caseId: kill.caseId,
      priority: 'critical',
      policy: { rule: 'kill_list_match' },
      killSwitch: { eventId: kill.eventId },
    });
    expect(closed).toMatchObject({ caseId: kill.caseId, type: 'case_closed', closure: { cause: 'stream_ended' } });
  }, 30_000);

  it('matches a mirrored stream only with dihedral matching on', async () => {
    const video = join(dir, 'mirrored.mp4');
    const made = spawnSync(defaultFfmpegPath(), [
      '-v',
      'error',
      '-loop',
      '1',
      '-t',
      '3',
      '-r',
      '10',
      '-i',
      BRIDGE,
      '-vf',
      'hflip,scale=320:240,setsar=1',
      '-pix_fmt',
      'yuv420p',
      '-y',
      video,
    ]);
    expect(made.status, made.stderr.toString()).toBe(0);
    const plain = capture();
    expect(await run([video, '--allow-files', '--lists', list, '--config', config], plain.io)).toBe(0);
    expect(plain.out()).toBe('');

    const dihedralConfig = join(dir, 'dihedral.json');
    writeFileSync(dihedralConfig, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), hash: { dihedral: true } }));
    const flipped = capture();
    expect(await run([video, '--allow-files', '--lists', list, '--config', dihedralConfig], flipped.io)).toBe(0);
    const kill = printed(flipped.out())[0] as KillSwitchEvent;
    expect(kill).toMatchObject({ type: 'killswitch', match: { list: 'known', label: 'bridge' } });
    expect(kill.match!.distance).toBeLessThanOrEqual(31);
  }, 30_000);

  it('reports an unreachable source as a failure line after its retries, and exits 1', async () => {
    const c = capture();
    const code = await run(['rtmp://127.0.0.1:9/live/key-that-must-not-leak', '--lists', list, '--config', config], c.io);
    expect(code).toBe(1);
    const lines = printed(c.out());
    // Fail-safe: the stream that cannot be screened is an unscreened case, beside its failure event.
    expect(lines.map((e) => e.type)).toEqual(['case_opened', 'failure']);
    // The reason, not how it failed: 'Connection refused' stays in the logs (no port scanning through events).
    expect(lines[0]).toMatchObject({
      reasonClass: 'unscreened',
      policy: { rule: 'fail_safe' },
      reasons: [{ kind: 'unscreened', code: 'source_unreachable', message: 'the source could not be read' }],
    });
    expect(lines[1]).toMatchObject({
      type: 'failure',
      streamId: 'cli',
      code: 'source_unreachable',
      message: 'the source could not be read',
    });
    expect(c.out()).not.toContain('key-that-must-not-leak');
    expect(c.out()).not.toMatch(/refused/i);
  }, 30_000);

  it('refuses a local file unless files are allowed', async () => {
    const c = capture();
    const code = await run([BRIDGE, '--lists', list, '--config', config], c.io);
    expect(code).toBe(1);
    expect(printed(c.out()).at(-1)).toMatchObject({ type: 'failure', code: 'source_invalid' });
  });
});
