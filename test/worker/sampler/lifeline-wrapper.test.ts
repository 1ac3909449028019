import { describe, expect, it } from 'vitest';
import { cutLifeline, inputOf, spawnWithLifeline, terminate, type LifelineChild } from '../../../src/worker/sampler/lifeline.js';
import { groupMembers, waitUntil } from './helpers.js';

function closed(child: LifelineChild): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
}

async function started(child: LifelineChild, comm: string): Promise<void> {
  await waitUntil(`${comm} to start`, () => groupMembers(child.pid!).some((p) => p.comm === comm), 5_000);
}

describe('lifeline wrapper', () => {
  it('passes stdout through and exits with the command status', async () => {
    const c = spawnWithLifeline('/bin/sh', ['-c', 'echo hello; exit 3']);
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    expect(await closed(c)).toEqual({ code: 3, signal: null });
    expect(out).toBe('hello\n');
    expect(groupMembers(c.pid!)).toEqual([]);
  });

  it("runs the command in its own process group, never the caller's", async () => {
    const c = spawnWithLifeline('sleep', ['30']);
    await started(c, 'sleep');
    expect(c.pid).not.toBe(process.pid);
    expect(
      groupMembers(c.pid!)
        .map((p) => p.comm)
        .sort(),
    ).toEqual(['sh', 'sh', 'sleep']);
    expect(groupMembers(c.pid!).some((p) => p.pid === process.pid)).toBe(false);
    await terminate(c, { graceful: false, graceMs: 1_000 });
  });

  it('graceful stop: SIGTERM reaches the command, which the wrapper reaps (exit 143, not a signal)', async () => {
    const c = spawnWithLifeline('sleep', ['30']);
    await started(c, 'sleep');
    const done = closed(c);
    await terminate(c, { graceful: true, graceMs: 2_000 });
    expect(await done).toEqual({ code: 143, signal: null });
    expect(groupMembers(c.pid!)).toEqual([]);
  });

  it('hard stop escalates past a command that ignores SIGTERM, still reaped by the wrapper (137)', async () => {
    const c = spawnWithLifeline('/bin/sh', ['-c', "trap '' TERM; while :; do sleep 0.05; done"]);
    // A sleep in the group means the loop runs, so the trap is in place.
    await started(c, 'sleep');
    const done = closed(c);
    const t0 = Date.now();
    await terminate(c, { graceful: true, graceMs: 300 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(await done).toEqual({ code: 137, signal: null });
    // The loop's last `sleep 0.05` (a grandchild; ffmpeg has none) finishes on its own.
    await waitUntil('the group to empty', () => groupMembers(c.pid!).length === 0, 1_000);
  });

  it('a signal sent before the command has started is applied to it', async () => {
    const c = spawnWithLifeline('sleep', ['30']);
    const done = closed(c);
    c.kill('SIGUSR1');
    const r = await done;
    expect(r.signal === null ? r.code : r.signal).not.toBe(0);
    await waitUntil('the group to empty', () => groupMembers(c.pid!).length === 0, 2_000);
  });

  it("with input: what the caller writes is the command's stdin, and its end ends the command", async () => {
    const c = spawnWithLifeline('cat', [], '/bin/sh', { input: true });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const input = inputOf(c)!;
    input.write('keyframe 1\n');
    input.end('keyframe 2\n');
    expect(await closed(c)).toEqual({ code: 0, signal: null });
    expect(out).toBe('keyframe 1\nkeyframe 2\n');
    expect(inputOf(spawnWithLifeline('true', []))).toBeUndefined();
  });

  it('with input: only the command holds the pipe, so when it stops reading, writes are refused instead of piling up', async () => {
    // The command closes its stdin and lives on; were the wrapper or its watcher still holding
    // the pipe, writes would fill it and then wait for ever.
    const c = spawnWithLifeline('/bin/sh', ['-c', 'exec 0<&-; sleep 30'], '/bin/sh', { input: true });
    await started(c, 'sleep');
    const input = inputOf(c)!;
    // The other end is closed by its last holder: the stream ends, and writes are refused.
    await waitUntil('the input pipe to close', () => input.destroyed, 5_000);
    const refused = await new Promise<Error | null | undefined>((resolve) => input.write(Buffer.alloc(1 << 20), resolve));
    expect(refused).toBeInstanceOf(Error);
    await terminate(c, { graceful: false, graceMs: 1000 });
  });

  it('cutting the lifeline kills the whole group (what a dying worker does)', async () => {
    const c = spawnWithLifeline('sleep', ['30']);
    await started(c, 'sleep');
    const done = closed(c);
    cutLifeline(c);
    expect((await done).signal).toBe('SIGKILL');
    await waitUntil('the group to empty', () => groupMembers(c.pid!).length === 0, 2_000);
  });
});
