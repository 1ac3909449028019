import { readFileSync } from 'node:fs';

/**
 * Linux reports CPU times in /proc in units of USER_HZ, which the kernel fixes at 100 for
 * userspace on every mainstream architecture (sysconf(_SC_CLK_TCK) is not reachable from Node).
 */
const USER_HZ = 100;

/**
 * CPU seconds used so far by the process `pid` and its children, living (from
 * /proc/<pid>/task/<pid>/children) and reaped (cutime/cstime): for a lifeline wrapper, the
 * ffmpeg it runs. Undefined when /proc cannot tell (not Linux, the process is gone, a kernel
 * without the children file): callers then report nothing rather than a wrong figure.
 */
export function processTreeCpuSeconds(pid: number): number | undefined {
  const own = statTimes(pid);
  if (!own) return undefined;
  let ticks = own.self + own.reapedChildren;
  let children: string;
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
  } catch {
    return undefined;
  }
  for (const child of children.split(' ')) {
    const childPid = Number(child);
    if (!Number.isInteger(childPid) || childPid <= 0) continue;
    // A child that exited between the two reads is counted in reapedChildren once reaped.
    const t = statTimes(childPid);
    if (t) ticks += t.self + t.reapedChildren;
  }
  return ticks / USER_HZ;
}

/** utime+stime and cutime+cstime of /proc/<pid>/stat, in ticks. */
function statTimes(pid: number): { self: number; reapedChildren: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may contain spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime, stime, cutime, cstime are fields 14-17.
  const n = (field: number): number => Number(fields[field - 3]);
  const self = n(14) + n(15);
  const reapedChildren = n(16) + n(17);
  return Number.isFinite(self) && Number.isFinite(reapedChildren) ? { self, reapedChildren } : undefined;
}
