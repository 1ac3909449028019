import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthorizationError, connect, type NatsConnection } from '@nats-io/transport-node';

/** A real nats-server with JetStream, on a free loopback port and a throw-away store. */
export interface NatsServerHandle {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  connect(): Promise<NatsConnection>;
  /** SIGKILL then start again on the same port and store, after `downMs` (fault injection: an outage). */
  restart(downMs?: number): Promise<void>;
  /** SIGKILL, leaving the store for a later restart(). */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface NatsServerOptions {
  /** Extra server configuration (accounts, authorization, tls), written to a file passed with -c. */
  readonly config?: string;
  /** Credentials the handle's connect() uses, for servers that require a login. */
  readonly connectAs?: { readonly user: string; readonly pass: string };
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const bin = process.env.NATS_SERVER_BIN ?? 'nats-server';
  const port = await freePort();
  const storeDir = await mkdtemp(join(tmpdir(), 'streamscreen-nats-'));
  const url = `nats://127.0.0.1:${port}`;
  let proc: ChildProcess | undefined;
  const configArgs: string[] = [];
  if (options.config !== undefined) {
    const file = join(storeDir, 'server.conf');
    await writeFile(file, options.config);
    configArgs.push('-c', file);
  }

  const launch = async (): Promise<void> => {
    const child = spawn(bin, [...configArgs, '-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc = child;
    let log = '';
    child.stderr?.on('data', (d: Buffer) => {
      if (log.length < 20_000) log += d.toString();
    });
    const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
    await Promise.race([spawnError, waitUntilReady(url, () => log)]);
  };

  const kill = async (): Promise<void> => {
    const child = proc;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  };

  await launch();
  return {
    url,
    port,
    storeDir,
    connect: () => connect({ servers: url, ...(options.connectAs ?? {}) }),
    restart: async (downMs = 0) => {
      await kill();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    kill,
    stop: async () => {
      await kill();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

async function waitUntilReady(url: string, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const nc = await connect({ servers: url, reconnect: false, timeout: 500 });
      await nc.close();
      return;
    } catch (err) {
      // A server that requires a login answers with an authorization error: it is up.
      if (err instanceof AuthorizationError) return;
      if (Date.now() > deadline) throw new Error(`nats-server did not start at ${url}: ${log()}`, { cause: err });
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
