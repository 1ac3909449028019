import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { RawFrame } from '../../../src/domain/frame.js';
import { createHooks, type Listeners } from '../../../src/domain/hooks.js';
import type { ConfigInput } from '../../../src/config/index.js';
import type { WorkerEvents } from '../../../src/worker/events.js';
import type { FfmpegBinary } from '../../../src/worker/sampler/ffmpeg-binary.js';
import { createSampler, type Sampler, type SamplingPressure } from '../../../src/worker/sampler/index.js';
import { capturingLogger } from '../../support/capture-logger.js';
import { ALLOW_LOOPBACK } from '../../support/egress.js';
import { samplerOptions } from '../../support/stage-options.js';
import { eventually } from '../../support/eventually.js';

export const DEBIAN_FFMPEG = '/usr/bin/ffmpeg';
export const BUNDLED_FFMPEG = new URL('../../../node_modules/@ffmpeg-installer/linux-x64/ffmpeg', import.meta.url).pathname;
export const SHARED_DECODED = new URL('../../../../shared/pdq-vectors/decoded/', import.meta.url).pathname;

const execFileP = promisify(execFile);

interface ProcInfo {
  readonly pid: number;
  readonly comm: string;
  readonly state: string;
  readonly pgrp: number;
}

function readStat(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid pgrp ..."; comm may itself contain spaces or parentheses.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const rest = stat.slice(close + 2).split(' ');
    return { pid, comm, state: rest[0] ?? '?', pgrp: Number(rest[2]) };
  } catch {
    return undefined;
  }
}

/** Running (not zombie) processes of a process group. */
export function groupMembers(pgid: number): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readStat(Number(name));
    if (info && info.pgrp === pgid && info.state !== 'Z') out.push(info);
  }
  return out;
}

export function isRunning(pid: number): boolean {
  const info = readStat(pid);
  return info !== undefined && info.state !== 'Z';
}

/** Encodes a short synthetic clip (lavfi) for file-source tests. */
export async function makeClip(path: string, opts: { size: string; rate: number; seconds: number; ffmpeg?: string }): Promise<void> {
  await execFileP(opts.ffmpeg ?? DEBIAN_FFMPEG, [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${opts.size}:rate=${opts.rate}:duration=${opts.seconds}`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-g',
    String(opts.rate),
    '-pix_fmt',
    'yuv420p',
    path,
  ]);
}

/** Mean absolute difference of two equally sized frames, 0..255. */
export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error('frames differ in size');
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] as number) - (b[i] as number));
  return sum / a.length;
}

/** The first `n` frames of an iterator, fewer if it ends first; the iterator is left open. */
export async function take(frames: AsyncIterator<RawFrame> | { frames(): AsyncIterable<RawFrame> }, n: number): Promise<RawFrame[]> {
  const it = 'next' in frames ? frames : frames.frames()[Symbol.asyncIterator]();
  const out: RawFrame[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

/** `check` polled until true (see test/support/eventually.ts). */
export async function waitUntil(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  await eventually(() => check() || undefined, timeoutMs, what, 20);
}

export interface LoopbackSamplerSpec {
  readonly url: string;
  readonly streamId: string;
  readonly ffmpeg: FfmpegBinary;
  readonly options: ConfigInput['sampler'];
  readonly events?: Listeners<WorkerEvents>;
  readonly pressure?: SamplingPressure;
}

/** A sampler on a loopback source: the source policy refuses loopback unless it is listed, as here. */
export function loopbackSampler(spec: LoopbackSamplerSpec): Sampler {
  return createSampler({
    url: spec.url,
    streamId: spec.streamId,
    ffmpeg: spec.ffmpeg,
    logger: capturingLogger().logger,
    events: createHooks<WorkerEvents>(undefined, spec.events ?? {}),
    options: samplerOptions({ allowHosts: ALLOW_LOOPBACK, ...spec.options }),
    ...(spec.pressure ? { pressure: spec.pressure } : {}),
  });
}

/** Every frame the sampler gives until its source ends. */
export async function allFrames(s: Sampler): Promise<RawFrame[]> {
  const out: RawFrame[] = [];
  for await (const f of s.frames()) out.push(f);
  return out;
}

/** The next `n` frames captured after `since` (wall clock) from an iterator already running; fewer if it ends. */
export async function framesCapturedAfter(it: AsyncIterator<RawFrame>, since: number, n: number): Promise<RawFrame[]> {
  const frames: RawFrame[] = [];
  while (frames.length < n) {
    const r = await it.next();
    if (r.done) break;
    if (r.value.capturedAt > since) frames.push(r.value);
  }
  return frames;
}
