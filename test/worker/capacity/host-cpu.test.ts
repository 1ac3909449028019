import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCgroupPath, parseCpuMax, parseProcStat, procCpuSource } from '../../../src/worker/capacity/host-cpu.js';

describe('CPU of the worker and the CPUs it may use', () => {
  it('reads a cgroup v2 cpu.max quota', () => {
    expect(parseCpuMax('max 100000\n')).toBeUndefined();
    expect(parseCpuMax('150000 100000\n')).toBe(1.5);
    expect(parseCpuMax('50000 100000')).toBe(0.5);
    expect(parseCpuMax('garbage')).toBeUndefined();
    expect(parseCgroupPath('0::/kubepods/pod1/worker\n')).toBe('/kubepods/pod1/worker');
    expect(parseCgroupPath('12:cpu:/x\n')).toBeUndefined();
  });

  it('takes the tightest quota on the way up the cgroup tree, and the online CPUs when lower', () => {
    const root = mkdtempSync(join(tmpdir(), 'cgroup-'));
    const proc = join(root, 'proc');
    const cg = join(root, 'cg');
    mkdirSync(join(proc, 'self'), { recursive: true });
    mkdirSync(join(cg, 'pod', 'worker'), { recursive: true });
    writeFileSync(join(proc, 'self', 'cgroup'), '0::/pod/worker\n');
    writeFileSync(join(cg, 'pod', 'cpu.max'), '150000 100000\n');
    writeFileSync(join(cg, 'pod', 'worker', 'cpu.max'), 'max 100000\n');
    expect(procCpuSource({ procRoot: proc, cgroupRoot: cg, parallelism: () => 8 }).cpusAvailable()).toBe(1.5);
    expect(procCpuSource({ procRoot: proc, cgroupRoot: cg, parallelism: () => 1 }).cpusAvailable()).toBe(1);
    writeFileSync(join(proc, 'self', 'cgroup'), '1:cpu:/v1\n');
    expect(procCpuSource({ procRoot: proc, cgroupRoot: cg, parallelism: () => 4 }).cpusAvailable()).toBe(4);
  });

  it('reads the host busy share from /proc/stat, only where no cgroup quota makes it irrelevant', () => {
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    expect(parseProcStat('cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8\n')).toEqual({ busy: 1.5, total: 10 });
    expect(parseProcStat('intr 1 2 3\n')).toBeUndefined();
    const root = mkdtempSync(join(tmpdir(), 'procstat-'));
    const proc = join(root, 'proc');
    const cg = join(root, 'cg');
    mkdirSync(join(proc, 'self'), { recursive: true });
    mkdirSync(join(cg, 'w'), { recursive: true });
    writeFileSync(join(proc, 'stat'), 'cpu  300 0 100 500 100 0 0 0 0 0\n');
    writeFileSync(join(proc, 'self', 'cgroup'), '0::/w\n');
    writeFileSync(join(cg, 'w', 'cpu.max'), 'max 100000\n');
    expect(procCpuSource({ procRoot: proc, cgroupRoot: cg }).hostCpuSeconds?.()).toEqual({ busy: 4, total: 10 });
    writeFileSync(join(cg, 'w', 'cpu.max'), '100000 100000\n');
    expect(procCpuSource({ procRoot: proc, cgroupRoot: cg }).hostCpuSeconds).toBeUndefined();
    // The real /proc/stat of this machine parses, busy within total.
    const real = procCpuSource().hostCpuSeconds?.();
    if (real) expect(real.busy).toBeLessThanOrEqual(real.total);
  });

  it("counts a busy grandchild's CPU in the process tree (real /proc)", async () => {
    const source = procCpuSource();
    const before = source.treeCpuSeconds()!;
    expect(before).toBeGreaterThan(0);
    // sh -> sh (a grandchild, as ffmpeg is under its lifeline wrapper) spinning, then idle.
    const child = spawn('/bin/sh', ['-c', "sh -c 'i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done; sleep 30'"]);
    try {
      await new Promise((r) => setTimeout(r, 1_500));
      // The spinning subtree measured on its own, then the whole tree: the tree holds all of it.
      const subtree = procCpuSource({ pid: child.pid! }).treeCpuSeconds()!;
      const during = source.treeCpuSeconds()!;
      expect(subtree).toBeGreaterThan(0.05);
      expect(during - before).toBeGreaterThanOrEqual(subtree);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
