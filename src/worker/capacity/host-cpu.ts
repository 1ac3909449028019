import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * What the governor reads about CPU, behind a port so tests feed it values: the CPUs this
 * process may use, and the CPU seconds its whole process tree (the worker and every ffmpeg it
 * runs) has used so far.
 */
export interface CpuSource {
  /** CPUs available: the online CPUs this process may run on, or the cgroup v2 quota when lower. */
  cpusAvailable(): number;
  /** CPU seconds used so far by this process and all its descendants, living and reaped; undefined when /proc cannot tell. */
  treeCpuSeconds(): number | undefined;
  /**
   * The whole host's CPU seconds so far, busy and in all, when no cgroup quota applies (with one,
   * the quota is this worker's share whatever the host does); undefined otherwise or when
   * /proc/stat cannot tell.
   */
  hostCpuSeconds?(): HostCpu | undefined;
}

export interface HostCpu {
  readonly busy: number;
  readonly total: number;
}

/**
 * The aggregate `cpu` line of /proc/stat: user nice system idle iowait irq softirq steal ...
 * (ticks). Busy is everything but idle and iowait; guest time is already inside user and nice.
 */
export function parseProcStat(text: string): HostCpu | undefined {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) return undefined;
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (ticks.length < 5 || !ticks.every(Number.isFinite)) return undefined;
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = ticks[3]! + ticks[4]!;
  return { busy: (total - idle) / USER_HZ, total: total / USER_HZ };
}

/** Linux reports /proc CPU times in USER_HZ ticks, fixed at 100 for userspace (sysconf is not reachable from Node). */
const USER_HZ = 100;

/**
 * `cpu.max` of cgroup v2: "<quota> <period>" in microseconds, or "max <period>" for no limit.
 * Returns the CPUs the quota allows, undefined when unlimited or unreadable.
 */
export function parseCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max') return undefined;
  const q = Number(quota);
  const p = Number(period ?? 100_000);
  return Number.isFinite(q) && Number.isFinite(p) && q > 0 && p > 0 ? q / p : undefined;
}

/** The cgroup v2 path of this process from /proc/self/cgroup ("0::/path"), undefined on v1 or elsewhere. */
export function parseCgroupPath(text: string): string | undefined {
  const line = text.split('\n').find((l) => l.startsWith('0::'));
  return line?.slice(3).trim() || undefined;
}

export interface ProcCpuSourceOptions {
  /** Where /proc and /sys/fs/cgroup are (tests point them at a directory of their own). */
  readonly procRoot?: string;
  readonly cgroupRoot?: string;
  readonly pid?: number;
  readonly parallelism?: () => number;
}

/** The real source: /proc for the process tree, cgroup v2 `cpu.max` (read once) for the quota. */
export function procCpuSource(o: ProcCpuSourceOptions = {}): CpuSource {
  const proc = o.procRoot ?? '/proc';
  const cgroup = o.cgroupRoot ?? '/sys/fs/cgroup';
  const pid = o.pid ?? process.pid;
  const parallelism = o.parallelism ?? availableParallelism;
  const quota = readQuota(proc, cgroup);
  return {
    cpusAvailable: () => Math.min(parallelism(), quota ?? Infinity),
    treeCpuSeconds: () => {
      const ticks = treeTicks(proc, pid, new Set());
      return ticks === undefined ? undefined : ticks / USER_HZ;
    },
    // Without a quota the worker competes with whatever else runs on the host (other workers,
    // an ingest server, the benchmark's own publishers): its own tree's share alone would admit
    // streams into CPU that others are using.
    ...(quota === undefined
      ? {
          hostCpuSeconds: () => {
            const stat = readOptional(`${proc}/stat`);
            return stat === undefined ? undefined : parseProcStat(stat);
          },
        }
      : {}),
  };
}

function readQuota(proc: string, cgroup: string): number | undefined {
  try {
    const path = parseCgroupPath(readFileSync(`${proc}/self/cgroup`, 'utf8'));
    if (path === undefined) return undefined;
    // The limit may be set on the process's own group or any above it: the tightest one holds.
    let tightest: number | undefined;
    for (let dir = path; ; dir = dir.slice(0, dir.lastIndexOf('/'))) {
      const cpus = readOptional(`${cgroup}${dir === '/' ? '' : dir}/cpu.max`);
      const limit = cpus === undefined ? undefined : parseCpuMax(cpus);
      if (limit !== undefined) tightest = Math.min(tightest ?? Infinity, limit);
      if (dir === '' || dir === '/') break;
    }
    return tightest;
  } catch {
    return undefined;
  }
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Ticks of `pid` (its own and its reaped children's) plus those of its living descendants, found
 * through every thread's `children` file (a child belongs to the thread that forked it).
 * Undefined only when `pid` itself cannot be read: a descendant that exits meanwhile is counted
 * in its parent's reaped times once reaped.
 */
function treeTicks(proc: string, pid: number, seen: Set<number>): number | undefined {
  if (seen.has(pid)) return 0;
  seen.add(pid);
  const own = statTicks(proc, pid);
  if (own === undefined) return undefined;
  let ticks = own;
  let tasks: string[];
  try {
    tasks = readdirSync(`${proc}/${pid}/task`);
  } catch {
    return ticks;
  }
  for (const task of tasks) {
    const children = readOptional(`${proc}/${pid}/task/${task}/children`) ?? '';
    for (const c of children.split(' ')) {
      const child = Number(c);
      if (Number.isInteger(child) && child > 0) ticks += treeTicks(proc, child, seen) ?? 0;
    }
  }
  return ticks;
}

/** utime+stime+cutime+cstime of /proc/<pid>/stat. */
function statTicks(proc: string, pid: number): number | undefined {
  const stat = readOptional(`${proc}/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) is in parentheses and may contain spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime, stime, cutime, cstime are fields 14-17.
  const sum = [14, 15, 16, 17].reduce((s, f) => s + Number(fields[f - 3]), 0);
  return Number.isFinite(sum) ? sum : undefined;
}
