/**
 * CPU time and resident memory of a process and all its descendants, from /proc: the worker
 * plus the ffmpeg decoders (and their lifeline wrappers) it runs. Linux only.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** /proc reports CPU times in USER_HZ, which Linux fixes at 100 for userspace. */
const USER_HZ = 100;
const PAGE_BYTES = 4096;

export interface TreeSample {
  /** utime + stime of every live process of the tree, plus what its reaped children used. */
  readonly cpuSeconds: number;
  readonly rssBytes: number;
  /**
   * Proportional set size: shared pages (ffmpeg's and node's libraries, loaded by every process)
   * divided among the processes sharing them, so the sum is the memory the tree really holds;
   * summed RSS counts them once per process. Undefined without /proc/<pid>/smaps_rollup.
   */
  readonly pssBytes: number | undefined;
  readonly processes: number;
  readonly ffmpegProcesses: number;
}

interface Stat {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  readonly ticks: number;
  readonly reapedTicks: number;
  readonly rssPages: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  // Fields after the command name, starting with field 3 (state).
  const f = text.slice(close + 2).split(' ');
  const n = (field: number): number => Number(f[field - 3]);
  return { pid, ppid: n(4), comm, ticks: n(14) + n(15), reapedTicks: n(16) + n(17), rssPages: n(24) };
}

export function sampleTree(root: number): TreeSample {
  const all: Stat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) all.push(s);
  }
  const children = new Map<number, Stat[]>();
  for (const s of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const rootStat = all.find((s) => s.pid === root);
  if (!rootStat) return { cpuSeconds: 0, rssBytes: 0, pssBytes: 0, processes: 0, ffmpegProcesses: 0 };
  let ticks = 0;
  let pages = 0;
  let processes = 0;
  let ffmpeg = 0;
  let pssKb: number | undefined = 0;
  const stack = [rootStat];
  while (stack.length > 0) {
    const s = stack.pop()!;
    // reapedTicks of the root counts decoders that already exited (restarts, ended streams).
    ticks += s.ticks + s.reapedTicks;
    pages += s.rssPages;
    processes++;
    if (s.comm === 'ffmpeg') ffmpeg++;
    const pss = pssKbOf(s.pid);
    pssKb = pss === undefined || pssKb === undefined ? undefined : pssKb + pss;
    stack.push(...(children.get(s.pid) ?? []));
  }
  return {
    cpuSeconds: ticks / USER_HZ,
    rssBytes: pages * PAGE_BYTES,
    pssBytes: pssKb === undefined ? undefined : pssKb * 1024,
    processes,
    ffmpegProcesses: ffmpeg,
  };
}

function pssKbOf(pid: number): number | undefined {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    // Gone in the meantime: it holds nothing any more.
    return 0;
  }
}
