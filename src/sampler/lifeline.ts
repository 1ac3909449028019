import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/**
 * A process that must not outlive the worker, even a SIGKILLed worker that runs no exit handler.
 *
 * It runs under a tiny POSIX sh wrapper, in a process group of its own. The wrapper's stdin is a
 * pipe from the worker (the lifeline) that the worker never writes to; the kernel closes it when
 * the worker dies, however it dies. A watcher subshell blocks reading that pipe and, on EOF,
 * SIGKILLs the whole group: ffmpeg, the wrapper and itself. The wrapper stays the parent of
 * both ffmpeg and the watcher and reaps them, so no zombie is left for a PID 1 that does not reap
 * orphans (node as a container's init). SIGTERM to the wrapper is passed on to ffmpeg, so a
 * normal stop still lets ffmpeg close its connection cleanly; the wrapper exits with ffmpeg's
 * status (128+n when ffmpeg died of signal n).
 */
const WRAPPER = [
  'exec 3<&0 </dev/null',
  '"$@" 3<&- &',
  'ff=$!',
  '( read -r _ <&3; kill -9 0 ) >/dev/null 2>&1 &',
  'w=$!',
  'exec 3<&-',
  'trap \'kill -TERM "$ff" 2>/dev/null\' TERM INT HUP',
  // wait returns early (status > 128) when a trapped signal arrives; wait again until ffmpeg is gone.
  'while :; do wait "$ff"; code=$?; kill -0 "$ff" 2>/dev/null || break; done',
  'kill -9 "$w" 2>/dev/null; wait "$w" 2>/dev/null',
  'exit "$code"',
].join('\n');

export type LifelineChild = ChildProcessByStdio<Writable, Readable, Readable>;

/** Starts `command args...` under the lifeline wrapper; stdout and stderr are the command's own. */
export function spawnWithLifeline(command: string, args: readonly string[], shell = '/bin/sh'): LifelineChild {
  return spawn(shell, ['-c', WRAPPER, 'streamscreen-ffmpeg', command, ...args], {
    // setsid: the group that `kill -9 0` and killGroup() target holds only our processes, never the worker.
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Signals every process of the child's group; false when the group is already gone. */
export function killGroup(child: LifelineChild, signal: NodeJS.Signals): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Closing the lifeline makes the watcher SIGKILL whatever is left in the group. */
export function cutLifeline(child: LifelineChild): void {
  child.stdin.destroy();
}
