import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { freePort } from './free-port.js';

/** The reference cluster configuration, run as it is (its variables come from each node's environment). */
export const CLUSTER_CONF = fileURLToPath(new URL('../../deploy/nats/cluster/nats-cluster.conf', import.meta.url));

export interface ClusterNode {
  readonly name: string;
  readonly url: string;
  readonly running: boolean;
  /** SIGKILL (no lame duck): the node vanishes as a crashed machine would. */
  kill(): Promise<void>;
  /** Starts it again on its ports and store. */
  start(): Promise<void>;
}

export interface NatsCluster {
  readonly nodes: readonly ClusterNode[];
  /** Every node's client URL, comma-separated (what nats.url takes). */
  readonly urls: string;
  connect(): Promise<NatsConnection>;
  node(name: string): ClusterNode;
  stop(): Promise<void>;
}

/**
 * A 3-node JetStream cluster on loopback from deploy/nats/cluster/nats-cluster.conf. Route ports
 * have to be known before the nodes start, so they are probed with freePort() (released before
 * the node binds it: a small race other tests accept for ffmpeg's listen mode too); client ports
 * are picked by each node and read from its ports file, then kept for restarts.
 */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const bin = process.env.NATS_SERVER_BIN ?? 'nats-server';
  const root = await mkdtemp(join(tmpdir(), 'streamscreen-cluster-'));
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routes = Object.fromEntries(routePorts.map((p, i) => [`NATS_ROUTE_${i + 1}`, `nats-route://127.0.0.1:${p}`]));

  const nodes = routePorts.map((routePort, i) => {
    const name = `n${i + 1}`;
    const dir = join(root, name);
    let proc: ChildProcess | undefined;
    let clientPort = -1;
    let url = '';
    const node: ClusterNode = {
      name,
      get url() {
        return url;
      },
      get running() {
        return proc !== undefined && proc.exitCode === null && proc.signalCode === null;
      },
      async kill() {
        const child = proc;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        });
      },
      async start() {
        await mkdir(dir, { recursive: true });
        const env = {
          ...process.env,
          ...routes,
          NATS_SERVER_NAME: name,
          NATS_CLIENT_LISTEN: `127.0.0.1:${clientPort}`,
          NATS_CLUSTER_LISTEN: `127.0.0.1:${routePort}`,
          NATS_STORE_DIR: join(dir, 'store'),
        };
        const child = spawn(bin, ['-c', CLUSTER_CONF, '--ports_file_dir', dir], { env, stdio: ['ignore', 'ignore', 'pipe'] });
        proc = child;
        let log = '';
        child.stderr?.on('data', (d: Buffer) => {
          if (log.length < 50_000) log += d.toString();
        });
        url = await portsFileUrl(dir, child, () => log);
        clientPort = Number(new URL(url).port);
      },
    };
    return node;
  });

  await Promise.all(nodes.map((n) => n.start()));
  const cluster: NatsCluster = {
    nodes,
    get urls() {
      return nodes.map((n) => n.url).join(',');
    },
    connect: () => connect({ servers: nodes.map((n) => n.url), maxReconnectAttempts: -1, reconnectTimeWait: 100 }),
    node: (name) => nodes.find((n) => n.name === name)!,
    stop: async () => {
      await Promise.all(nodes.map((n) => n.kill()));
      await rm(root, { recursive: true, force: true });
    },
  };
  await waitForJetStream(cluster);
  return cluster;
}

async function portsFileUrl(dir: string, child: ChildProcess, log: () => string): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nats-server exited (${child.exitCode}): ${log()}`);
    const file = (await readdir(dir)).find((f) => f.endsWith(`_${child.pid}.ports`));
    const ports = file
      ? await readFile(join(dir, file), 'utf8').then(
          (t) => JSON.parse(t) as { nats?: string[] },
          () => undefined,
        )
      : undefined;
    const url = ports?.nats?.[0];
    if (url) return url;
    if (Date.now() > deadline) throw new Error(`nats-server wrote no ports file in ${dir}: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Until the cluster has a JetStream meta leader: before that, stream creation fails. */
async function waitForJetStream(cluster: NatsCluster): Promise<void> {
  const nc = await cluster.connect();
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      try {
        const info = (await nc.request('$JS.API.INFO', undefined, { timeout: 1000 })).json<{ error?: unknown }>();
        if (!info.error) return;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) throw new Error('JetStream cluster did not elect a meta leader in 30 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await nc.close();
  }
}
