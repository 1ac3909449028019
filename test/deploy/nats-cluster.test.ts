/**
 * deploy/nats/cluster-{1,2,3}.conf boot as a 3-node JetStream cluster: on loopback, with the
 * nodes' addresses, store directories and route certificates (from a throw-away CA) put in
 * place of the deployment's, three nats-servers form the cluster over mutually authenticated TLS
 * routes and hold a stream at replicas 3 that the worker role writes through one node and reads
 * through another. What a node failure does to screening is the fault suite's business; this
 * checks that the reference configuration is sound.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { jetstreamManager, jetstream, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { createTestPki } from '../support/logging-server.js';
import { freePort } from '../support/free-port.js';
import { copyNatsConfig, natsEnv, rolePassword, storeDir } from './nats-config.js';

const NODES = [1, 2, 3] as const;

interface Node {
  readonly n: number;
  readonly clientPort: number;
  readonly routePort: number;
  readonly conf: string;
  proc?: ChildProcess;
  log: string;
}

const nodes: Node[] = [];
const conns: NatsConnection[] = [];

async function connectWorker(node: Node): Promise<NatsConnection> {
  const nc = await connect({
    servers: `nats://127.0.0.1:${node.clientPort}`,
    user: 'worker',
    pass: rolePassword('worker'),
    inboxPrefix: '_INBOX_worker',
    timeout: 3000,
  });
  conns.push(nc);
  return nc;
}

beforeAll(async () => {
  const pki = createTestPki();
  const route = pki.issuedFiles('nats-route', ['127.0.0.1']);
  const ports = await Promise.all(NODES.map(async () => ({ client: await freePort(), route: await freePort(), http: await freePort() })));
  for (const n of NODES) {
    const p = ports[n - 1]!;
    const conf = copyNatsConfig(`cluster-${n}.conf`, [
      [/^(\s*store_dir:\s*).*$/m, `$1"${storeDir()}"`],
      [/^port: 4222$/m, `port: ${p.client}`],
      [/^http_port: 8222$/m, `http_port: ${p.http}`],
      [/listen: 0\.0\.0\.0:6222/, `listen: 127.0.0.1:${p.route}`],
      [/nats-route:\/\/nats-1:6222/, `nats-route://127.0.0.1:${ports[0]!.route}`],
      [/nats-route:\/\/nats-2:6222/, `nats-route://127.0.0.1:${ports[1]!.route}`],
      [/nats-route:\/\/nats-3:6222/, `nats-route://127.0.0.1:${ports[2]!.route}`],
      [/"\/etc\/nats\/tls\/route\.pem"/, `"${route.certFile}"`],
      [/"\/etc\/nats\/tls\/route-key\.pem"/, `"${route.keyFile}"`],
      [/"\/etc\/nats\/tls\/ca\.pem"/, `"${pki.caFile}"`],
    ]);
    nodes.push({ n, clientPort: p.client, routePort: p.route, conf, log: '' });
  }
  for (const node of nodes) {
    const proc = spawn(process.env.NATS_SERVER_BIN ?? 'nats-server', ['-c', node.conf], {
      env: natsEnv(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc.stderr.on('data', (d: Buffer) => (node.log += d.toString()));
    node.proc = proc;
  }
}, 30_000);

afterAll(async () => {
  for (const nc of conns) await nc.close().catch(() => {});
  await Promise.all(
    nodes.map(
      (n) =>
        new Promise<void>((resolve) => {
          if (!n.proc || n.proc.exitCode !== null) return resolve();
          n.proc.once('exit', () => resolve());
          n.proc.kill('SIGTERM');
        }),
    ),
  );
});

describe('deploy/nats/cluster-*.conf', () => {
  it('three nodes form a JetStream cluster over TLS routes and keep a stream at replicas 3', async () => {
    const [one, , three] = nodes as [Node, Node, Node];
    const nc1 = await eventually(() => connectWorker(one).catch(() => undefined), 15_000, 'node 1 accepting the worker');
    // No API check yet: JetStream answers only once the cluster has elected its meta leader.
    const jsm = await jetstreamManager(nc1, { checkAPI: false });
    // The meta leader must be elected before a replicated stream can be created.
    const info = await eventually(
      () =>
        jsm.streams
          .add({
            name: 'SCREENING_DECISIONS',
            subjects: ['screening.killswitch.*'],
            retention: RetentionPolicy.Limits,
            storage: StorageType.File,
            num_replicas: 3,
          })
          .catch(() => undefined),
      20_000,
      'a replicas-3 stream (cluster formed, JetStream meta leader elected)',
      250,
    );
    expect(info.config.num_replicas).toBe(3);
    await jetstream(nc1).publish('screening.killswitch.cluster-1', '{}');

    const nc3 = await eventually(() => connectWorker(three).catch(() => undefined), 10_000, 'node 3 accepting the worker');
    const seen = await eventually(
      async () => {
        const i = await (await jetstreamManager(nc3, { checkAPI: false })).streams.info('SCREENING_DECISIONS').catch(() => undefined);
        if (!i) return undefined;
        return i.state.messages === 1 && i.cluster?.replicas?.length === 2 && i.cluster.replicas.every((r) => r.current) ? i : undefined;
      },
      15_000,
      'the message on every replica',
      250,
    );
    expect(new Set([seen.cluster!.leader, ...seen.cluster!.replicas!.map((r) => r.name)])).toEqual(new Set(['nats-1', 'nats-2', 'nats-3']));
    for (const node of nodes) expect(node.log).toMatch(/Route connection created|rid:\d+ - Route/);
    for (const node of nodes) expect(node.log).not.toMatch(/TLS route handshake error/);
  }, 60_000);

  it('a node that is not part of the cluster (no certificate from its CA) cannot join it', async () => {
    const port = await freePort();
    const outsider = copyNatsConfig('cluster-1.conf', [
      [/^(\s*store_dir:\s*).*$/m, `$1"${storeDir()}"`],
      [/^server_name: nats-1$/m, 'server_name: outsider'],
      [/^port: 4222$/m, `port: ${await freePort()}`],
      [/^http_port: 8222$/m, `http_port: ${await freePort()}`],
      [/listen: 0\.0\.0\.0:6222/, `listen: 127.0.0.1:${port}`],
      [/nats-route:\/\/nats-1:6222/, `nats-route://127.0.0.1:${nodes[0]!.routePort}`],
      [/\s*"nats-route:\/\/nats-2:6222"/, ''],
      [/\s*"nats-route:\/\/nats-3:6222"/, ''],
      // Its own CA and certificate: valid TLS, just not this cluster's.
      ...(() => {
        const other = createTestPki();
        const cert = other.issuedFiles('nats-route', ['127.0.0.1']);
        return [
          [/"\/etc\/nats\/tls\/route\.pem"/, `"${cert.certFile}"`],
          [/"\/etc\/nats\/tls\/route-key\.pem"/, `"${cert.keyFile}"`],
          [/"\/etc\/nats\/tls\/ca\.pem"/, `"${other.caFile}"`],
        ] as Array<[RegExp, string]>;
      })(),
    ]);
    let log = '';
    const proc = spawn('nats-server', ['-c', outsider], { env: natsEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr.on('data', (d: Buffer) => (log += d.toString()));
    try {
      await eventually(() => /TLS route handshake error/.test(log) || undefined, 15_000, 'the outsider refused');
      expect(log).not.toMatch(/Route connection created/);
    } finally {
      proc.kill('SIGKILL');
    }
  }, 30_000);
});
