import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startLiveSource, type LiveSource } from '../../support/live-source.js';
import { groupMembers, isRunning, waitUntil } from './helpers.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./fixtures/sampler-child.ts', import.meta.url));

let src: LiveSource | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  src?.resume();
  await src?.stop();
  src = undefined;
  child = undefined;
});

/** Starts the stand-in worker and waits until its sampler has delivered a frame. */
async function startWorkerChild(url: string): Promise<{ pgid: number; ffmpegPid: number }> {
  const c = spawn(process.execPath, ['--import', 'tsx', CHILD, url], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  child = c;
  let stderr = '';
  c.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`child announced nothing in 15 s; stderr: ${stderr}`)), 15_000);
    c.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, nl));
      }
    });
    c.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before a frame; stderr: ${stderr}`));
    });
  });
  const { pgid } = JSON.parse(line) as { pgid: number };
  const ffmpeg = groupMembers(pgid).find((p) => p.comm === 'ffmpeg');
  if (!ffmpeg) throw new Error(`no ffmpeg in process group ${pgid}`);
  return { pgid, ffmpegPid: ffmpeg.pid };
}

async function sigkillAndExpectGone(pgid: number, ffmpegPid: number): Promise<number> {
  const c = child!;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  const t0 = Date.now();
  c.kill('SIGKILL');
  await exited;
  await waitUntil(`ffmpeg ${ffmpegPid} to die after its parent was SIGKILLed`, () => !isRunning(ffmpegPid), 2_000);
  await waitUntil(`process group ${pgid} to empty`, () => groupMembers(pgid).length === 0, 2_000);
  return Date.now() - t0;
}

describe('no ffmpeg outlives a SIGKILLed worker', () => {
  it('while frames flow', async () => {
    src = await startLiveSource({ kind: 'rtmp' });
    const { pgid, ffmpegPid } = await startWorkerChild(src.url);
    expect(isRunning(ffmpegPid)).toBe(true);
    const ms = await sigkillAndExpectGone(pgid, ffmpegPid);
    expect(ms).toBeLessThan(2_000);
  });

  it('while ffmpeg is blocked on a silent source (nothing to write, so no EPIPE to save us)', async () => {
    src = await startLiveSource({ kind: 'rtmp' });
    const { pgid, ffmpegPid } = await startWorkerChild(src.url);
    src.pause();
    // Let ffmpeg settle into its blocking read.
    await new Promise((r) => setTimeout(r, 300));
    expect(isRunning(ffmpegPid)).toBe(true);
    const ms = await sigkillAndExpectGone(pgid, ffmpegPid);
    expect(ms).toBeLessThan(2_000);
  });
});
