/**
 * Time to matchable: from `streamscreen hashlist publish` of a list to the list serving in a
 * running worker. A real nats-server (JetStream, Object Store) and a real worker process
 * (`streamscreen worker`, classifiers off, no streams) on 127.0.0.1; the publish runs the
 * command's own code (validate the whole file, then upload), and the worker's log line
 * 'hash list version loaded' marks the moment its matcher swapped the list in (the swap follows
 * in the same tick). Reported: the publish (parse + upload), the worker's download + verify +
 * parse + index build, and the total.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openHashListBucket, prepareHashList, uploadHashList } from '../src/hash/object-store-lists.js';
import { startNatsServer } from '../test/support/nats-server.js';

export interface TimeToMatchable {
  readonly entries: number;
  readonly publish_s: number;
  /** Worker: download, SHA-256 check, parse, index build (its own `ms`). */
  readonly worker_load_s: number;
  /** From the start of the publish to the list serving in the worker. */
  readonly total_s: number;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface LogLine {
  msg?: string;
  list?: string;
  ms?: number;
}

export async function timeToMatchable(listFile: string, entries: number): Promise<TimeToMatchable> {
  const server = await startNatsServer();
  const dir = await mkdtemp(join(tmpdir(), 'bench-ttm-'));
  const config = join(dir, 'worker.json');
  await writeFile(
    config,
    JSON.stringify({
      nats: { url: server.url },
      worker: { id: 'bench-ttm' },
      classify: { enabled: false },
      metrics: { enabled: false },
      log: { level: 'info' },
      hash: { objectStore: { bucket: 'bench-lists' } },
    }),
  );
  // The worker as deployed, run from source (as this benchmark is) so no stale build is measured.
  const worker = spawn(process.execPath, [...process.execArgv, join(ROOT, 'src/cli.ts'), 'worker', '--config', config], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH ?? '' },
  });
  const lines = createInterface({ input: worker.stderr });
  const waiters = new Set<(line: LogLine) => void>();
  lines.on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return;
    }
    for (const w of waiters) w(line);
  });
  const waitFor = (predicate: (l: LogLine) => boolean, timeoutMs: number, what: string): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`time-to-matchable: no '${what}' from the worker within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const check = (l: LogLine): void => {
        if (!predicate(l)) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(l);
      };
      waiters.add(check);
    });
  try {
    await waitFor((l) => l.msg === 'worker started', 120_000, 'worker started');
    const loaded = waitFor((l) => l.msg === 'hash list version loaded' && l.list === 'bench', 1_800_000, 'hash list version loaded');
    const t0 = performance.now();
    const nc = await server.connect();
    try {
      const prepared = await prepareHashList({ file: listFile, id: 'bench', action: 'kill' });
      await uploadHashList(await openHashListBucket(nc, 'bench-lists'), prepared);
    } finally {
      await nc.close();
    }
    const t1 = performance.now();
    const line = await loaded;
    const t2 = performance.now();
    return {
      entries,
      publish_s: round((t1 - t0) / 1000),
      worker_load_s: round((line.ms ?? Number.NaN) / 1000),
      total_s: round((t2 - t0) / 1000),
    };
  } finally {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const round = (v: number): number => Math.round(v * 100) / 100;
