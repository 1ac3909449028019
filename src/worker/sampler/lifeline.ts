import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/**
 * A process that must not outlive the worker, even a SIGKILLed worker that runs no exit handler.
 *
 * It runs under a tiny POSIX sh wrapper, in a process group of its own. The wrapper's stdin is a
 * pipe from the worker (the lifeline) that the worker never writes to; the kernel closes it when
 * the worker dies, however it dies. A watcher subshell blocks reading that pipe and, on EOF,
 * SIGKILLs the whole group: the command, the wrapper and itself.
 *
 * The wrapper stays the parent of the command and of the watcher and reaps both, so stopping a
 * run leaves no zombie behind for a PID 1 that does not reap orphans (node as a container's
 * init). That is why runs are stopped through the wrapper, not by signalling the group: SIGTERM
 * to the wrapper is passed on to the command (ffmpeg then closes its connection cleanly), SIGUSR1
 * makes it SIGKILL the command. Signals that arrive before the command is started are remembered
 * and applied to it at once. The wrapper exits with the command's status (128+n when it died of
 * signal n).
 */
const WRAPPER = [
  // ffmpeg honours these from the environment: no_proxy would let it bypass the egress proxy
  // (source-policy.ts) for matching hosts, and the others would route sources the policy pins.
  'unset no_proxy NO_PROXY http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY',
  'ff=; sig=',
  'trap \'sig=TERM; [ -n "$ff" ] && kill -TERM "$ff" 2>/dev/null\' TERM INT HUP',
  'trap \'sig=KILL; [ -n "$ff" ] && kill -KILL "$ff" 2>/dev/null\' USR1',
  'exec 3<&0 </dev/null',
  '( read -r _ <&3; kill -9 0 ) >/dev/null 2>&1 &',
  'w=$!',
  '"$@" 3<&- &',
  'ff=$!',
  'exec 3<&-',
  '[ -n "$sig" ] && kill -"$sig" "$ff" 2>/dev/null',
  // wait returns early (status > 128) when a trapped signal arrives; wait again until the command is gone.
  'while :; do wait "$ff"; code=$?; kill -0 "$ff" 2>/dev/null || break; done',
  // If the shell reaped the command while the trap ran, the status left is the interrupted wait's
  // (128 + USR1's number), not the command's; after USR1 the command was SIGKILLed, so say so.
  '[ "$sig" = KILL ] && [ "$code" -gt 128 ] && code=137',
  'kill -9 "$w" 2>/dev/null; wait "$w" 2>/dev/null',
  'exit "$code"',
].join('\n');

export type LifelineChild = ChildProcessByStdio<Writable, Readable, Readable>;

/**
 * The same wrapper for a command that reads its stdin from the worker: that pipe arrives as fd 4
 * (fd 3 is taken by the lifeline) and becomes the command's stdin.
 */
const WRAPPER_WITH_INPUT = WRAPPER.replace(
  '( read -r _ <&3; kill -9 0 ) >/dev/null 2>&1 &',
  '( read -r _ <&3; kill -9 0 ) >/dev/null 2>&1 4<&- &',
)
  .replace('"$@" 3<&- &', '"$@" 3<&- <&4 4<&- &')
  .replace('exec 3<&-', 'exec 3<&- 4<&-');

/** Runs whose 'close' (exit and stdio drained) has been seen. */
const closedRuns = new WeakSet<LifelineChild>();

/**
 * Starts `command args...` under the lifeline wrapper; stdout and stderr are the command's own.
 * With `input`, the command's stdin is a pipe from the worker: write to `inputOf(child)`.
 */
export function spawnWithLifeline(
  command: string,
  args: readonly string[],
  shell = '/bin/sh',
  options: { input?: boolean } = {},
): LifelineChild {
  const child = spawn(shell, ['-c', options.input ? WRAPPER_WITH_INPUT : WRAPPER, 'streamscreen-lifeline', command, ...args], {
    // setsid: the group that `kill -9 0` and killGroup() target holds only our processes, never the worker.
    detached: true,
    stdio: options.input ? ['pipe', 'pipe', 'pipe', 'ignore', 'pipe'] : ['pipe', 'pipe', 'pipe'],
  }) as LifelineChild;
  // Nothing is ever written to the lifeline; an EPIPE after the wrapper is gone is of no interest.
  child.stdin.on('error', () => {});
  child.once('close', () => closedRuns.add(child));
  return child;
}

/** The command's stdin, for a child started with `input` (undefined otherwise). */
export function inputOf(child: LifelineChild): Writable | undefined {
  const pipe = child.stdio[4] as Writable | null | undefined;
  return pipe ?? undefined;
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

export function hasExited(child: LifelineChild): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Ends the run and resolves once it has closed. `graceful`: SIGTERM first and, after `graceMs`,
 * SIGKILL; otherwise SIGKILL at once (both through the wrapper, which reaps). Should the wrapper
 * itself not respond within `graceMs` more, the whole group is SIGKILLed and the lifeline cut.
 */
export async function terminate(child: LifelineChild, { graceful, graceMs }: { graceful: boolean; graceMs: number }): Promise<void> {
  if (closedRuns.has(child)) return;
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const signal = (s: NodeJS.Signals): void => {
    if (!hasExited(child)) child.kill(s);
  };
  signal(graceful ? 'SIGTERM' : 'SIGUSR1');
  const timers: NodeJS.Timeout[] = [];
  if (graceful) timers.push(setTimeout(() => signal('SIGUSR1'), graceMs));
  timers.push(
    setTimeout(
      () => {
        killGroup(child, 'SIGKILL');
        cutLifeline(child);
      },
      graceful ? 2 * graceMs : graceMs,
    ),
  );
  await closed;
  for (const t of timers) clearTimeout(t);
}
