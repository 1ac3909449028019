/**
 * The whole loop on one machine, from real processes: nats-server, nginx with the RTMP module,
 * and `streamscreen worker`, `bridge` and `enforcer` started from dist/ as an operator would,
 * with one generated config file. Used by the e2e test, the benchmark and `npm run demo -- --ingest nginx`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pdqToHex } from '../../src/domain/pdq.js';
import { createPdqHasher } from '../../src/hash/pdq-hasher.js';
import { readRgbImage } from '../../src/worker/sampler/image-file.js';
import { eventually } from './eventually.js';
import { freePort } from './free-port.js';
import { startNatsServer, type NatsServerHandle } from './nats-server.js';
import { startNginxRtmp, type NginxRtmp } from './nginx-rtmp.js';

export const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));
export const HOOK_SECRET = 'loop-hook-secret-0123456789';

export interface IngestLoopOptions {
  /** The image whose PDQ hash goes on the kill list. */
  readonly listImage: string;
  /** Extra enforcer settings. */
  readonly enforcer?: Record<string, unknown>;
}

export interface Service {
  readonly name: string;
  readonly process: ChildProcess;
  /** Its stderr so far (JSON log lines). */
  output(): string;
}

export interface IngestLoop {
  readonly nats: NatsServerHandle;
  readonly nginx: NginxRtmp;
  readonly bridgePort: number;
  readonly bridgeMetricsPort: number;
  readonly listHash: string;
  readonly configFile: string;
  readonly services: readonly Service[];
  /** `rtmp://127.0.0.1:<port>/live/<key>`: where a broadcaster publishes. */
  publishUrl(key: string): string;
  /** Sum of the bridge's metric samples starting with `series`. */
  bridgeMetric(series: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startIngestLoop(o: IngestLoopOptions): Promise<IngestLoop> {
  const dir = await mkdtemp(join(tmpdir(), 'streamscreen-loop-'));
  const cleanups: Array<() => Promise<unknown>> = [async () => rm(dir, { recursive: true, force: true })];
  const stop = async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    const nats = await startNatsServer();
    cleanups.push(() => nats.stop());
    const bridgePort = await freePort();
    const bridgeMetricsPort = await freePort();
    const hook = `http://127.0.0.1:${bridgePort}/hooks/nginx-1?token=${HOOK_SECRET}`;
    const nginx = await startNginxRtmp({ onPublish: hook, onPublishDone: hook });
    cleanups.push(() => nginx.stop());

    const listHash = pdqToHex(createPdqHasher().hash(await readRgbImage(o.listImage)).hash);
    const list = join(dir, 'known.txt');
    await writeFile(list, `# benign test image\n${listHash}\tloop-known-image\n`);
    const configFile = join(dir, 'streamscreen.json');
    const base = {
      nats: { url: nats.url },
      hash: { lists: [{ id: 'known', path: list, action: 'kill' }] },
      // The kill path is the hash check; the classifiers would only slow a 2-core CI down.
      classify: { enabled: false },
      // The worker pulls from nginx on loopback: the platform's own ingest, which the source policy
      // refuses unless allow-listed (as a deployment lists its private ingest hosts).
      sampler: { stallTimeoutMs: 8_000, backoffBaseMs: 200, allowHosts: ['127.0.0.1'] },
      ingests: [
        {
          id: 'nginx-1',
          kind: 'nginx-rtmp',
          secret: HOOK_SECRET,
          pullUrl: `rtmp://127.0.0.1:${nginx.rtmpPort}/{app}/{name}`,
          control: { url: nginx.controlUrl },
        },
      ],
      // Fixed admission: test files run side by side, and measured admission reads the host's CPU.
      worker: { admission: 'fixed' },
      bridge: { port: bridgePort, outboxDir: join(dir, 'outbox') },
      enforcer: { id: 'loop-enforcer', ...o.enforcer },
      // Info: the harness waits for each service's start-up line; stderr stays in memory.
      log: { level: 'info' },
    };
    await writeFile(configFile, JSON.stringify(base));
    // Each service its own metrics port (or none): they share the config file otherwise.
    const metricsFor = async (name: string, port: number | null) => {
      const f = join(dir, `${name}.json`);
      await writeFile(f, JSON.stringify({ ...base, metrics: port === null ? { enabled: false } : { host: '127.0.0.1', port } }));
      return f;
    };
    const services: Service[] = [];
    const launch = async (name: string, file: string, ready: RegExp) => {
      const child = spawn(process.execPath, [CLI, name, '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
      let out = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (d: string) => {
        out = (out + d).slice(-50_000);
      });
      const service = { name, process: child, output: () => out };
      services.push(service);
      cleanups.push(async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      });
      await eventually(
        () => {
          if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${out}`);
          return ready.test(out);
        },
        30_000,
        `${name} to start`,
        50,
      );
    };
    // The worker first: it creates the streams the bridge publishes to and the enforcer consumes.
    await Promise.all([
      launch('worker', await metricsFor('worker', null), /"worker started"/),
      launch('bridge', await metricsFor('bridge', bridgeMetricsPort), /"bridge listening/),
    ]);
    await launch('enforcer', await metricsFor('enforcer', null), /"enforcer consuming kill-switches"/);

    return {
      nats,
      nginx,
      bridgePort,
      bridgeMetricsPort,
      listHash,
      configFile,
      services,
      publishUrl: (key) => nginx.rtmpUrl('live', key),
      bridgeMetric: async (series) => {
        const text = await (await fetch(`http://127.0.0.1:${bridgeMetricsPort}/metrics`)).text();
        return text
          .split('\n')
          .filter((l) => l.startsWith(series))
          .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
