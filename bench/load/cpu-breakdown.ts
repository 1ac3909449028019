/**
 * Where the worker tree's CPU goes, from /proc: the node process's main thread (the event loop:
 * JS, pipe reads, PDQ) apart from its other threads (libuv pool, V8's GC and compiler threads,
 * onnxruntime's), and the ffmpeg children by role: in keyframe mode the remuxer that reads the
 * source and the decoder that reads the relay's pipe; in full-decode mode the one decoder. Linux only.
 */
import { readFileSync, readdirSync } from 'node:fs';

const USER_HZ = 100;

export type Role = 'main_thread' | 'node_threads' | 'remuxer' | 'keyframe_decoder' | 'full_decoder' | 'wrappers' | 'other';

export type Breakdown = Record<Role, number>;

const ROLES: readonly Role[] = ['main_thread', 'node_threads', 'remuxer', 'keyframe_decoder', 'full_decoder', 'wrappers', 'other'];

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** utime+stime (own, not reaped children) and ppid from a stat line. */
function tasks(pid: number): string[] {
  try {
    return readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}

function parseStat(text: string): { ppid: number; comm: string; ticks: number } {
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' ');
  const n = (field: number): number => Number(f[field - 3]);
  return { ppid: n(4), comm, ticks: n(14) + n(15) };
}

function ffmpegRole(pid: number): Role {
  const argv = (read(`/proc/${pid}/cmdline`) ?? '').split('\0');
  if (argv.includes('copy')) return 'remuxer';
  if (argv.includes('pipe:0')) return 'keyframe_decoder';
  return 'full_decoder';
}

/** CPU seconds so far of every live process under `root` (the worker's lifeline wrapper), by role. */
export function sampleBreakdown(root: number): Breakdown {
  const stats = new Map<number, { ppid: number; comm: string; ticks: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const text = read(`/proc/${name}/stat`);
    if (text) stats.set(Number(name), parseStat(text));
  }
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  const out = Object.fromEntries(ROLES.map((r) => [r, 0])) as Breakdown;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    const s = stats.get(pid);
    if (!s) continue;
    stack.push(...(children.get(pid) ?? []));
    if (s.comm === 'node' || s.comm === 'MainThread') {
      for (const tid of tasks(pid)) {
        const t = read(`/proc/${pid}/task/${tid}/stat`);
        if (!t) continue;
        out[Number(tid) === pid ? 'main_thread' : 'node_threads'] += parseStat(t).ticks / USER_HZ;
      }
    } else if (s.comm === 'ffmpeg') out[ffmpegRole(pid)] += s.ticks / USER_HZ;
    else if (s.comm === 'sh') out.wrappers += s.ticks / USER_HZ;
    else out.other += s.ticks / USER_HZ;
  }
  return out;
}

/** Percent of one core per stream of each role between two samples. */
export function breakdownPctPerStream(a: Breakdown, b: Breakdown, seconds: number, streams: number): Breakdown {
  return Object.fromEntries(ROLES.map((r) => [r, Math.round(((b[r] - a[r]) / seconds / streams) * 1000) / 10])) as Breakdown;
}

export function formatBreakdown(pct: Breakdown): string {
  return ROLES.filter((r) => pct[r] > 0)
    .map((r) => `${r} ${pct[r]}`)
    .join(', ');
}

/** Busy and total jiffies of the whole machine (all cores), from /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const line = (read('/proc/stat') ?? '').split('\n').find((l) => l.startsWith('cpu ')) ?? 'cpu';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: idle and iowait are not busy.
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

/** Percent of the whole machine (100 = every core busy) between two samples. */
export function machineBusyPct(a: { busy: number; total: number }, b: { busy: number; total: number }): number {
  return b.total > a.total ? Math.round(((b.busy - a.busy) / (b.total - a.total)) * 1000) / 10 : 0;
}
