import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthorizationError, connect, type NatsConnection } from '@nats-io/transport-node';

/** A real nats-server with JetStream, on a loopback port of its own and a throw-away store. */
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

export interface NatsServerOptions {
  /** Extra server configuration (accounts, authorization, tls), written to a file passed with -c. */
  readonly config?: string;
  /** Credentials the handle's connect() uses, for servers that require a login. */
  readonly connectAs?: { readonly user: string; readonly pass: string };
}

/**
 * Starts nats-server on a port the kernel picks (`-p -1`) and learns it from the ports file the
 * server writes once it listens (`--ports_file_dir`): no port is probed and released first, so no
 * other process can take it in between. A restart binds the port it had, as a restarted server would.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const bin = process.env.NATS_SERVER_BIN ?? 'nats-server';
  const root = await mkdtemp(join(tmpdir(), 'streamscreen-nats-'));
  const storeDir = join(root, 'store');
  let proc: ChildProcess | undefined;
  const configArgs: string[] = [];
  if (options.config !== undefined) {
    const file = join(root, 'server.conf');
    await writeFile(file, options.config);
    configArgs.push('-c', file);
  }

  const launch = async (port: number | undefined): Promise<string> => {
    const args = [...configArgs, '-js', '-a', '127.0.0.1', '-p', String(port ?? -1), '-sd', storeDir, '--ports_file_dir', root];
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    proc = child;
    let log = '';
    child.stderr?.on('data', (d: Buffer) => {
      if (log.length < 20_000) log += d.toString();
    });
    const failed = new Promise<never>((_, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new Error(`nats-server exited (${signal ?? code}) before listening: ${log}`)));
    });
    const listening = (async () => {
      const url = await clientUrl(root, child.pid!, () => log);
      await waitUntilReady(url, () => log);
      return url;
    })();
    try {
      return await Promise.race([failed, listening]);
    } finally {
      child.removeAllListeners('exit');
      failed.catch(() => undefined);
    }
  };

  const kill = async (): Promise<void> => {
    const child = proc;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  };

  const port = Number(new URL(await launch(undefined)).port);
  const url = `nats://127.0.0.1:${port}`;
  return {
    url,
    port,
    storeDir,
    connect: () => connect({ servers: url, ...(options.connectAs ?? {}) }),
    restart: async (downMs = 0) => {
      await kill();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await launch(port);
    },
    kill,
    stop: async () => {
      await kill();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** The client URL from `<dir>/<executable>_<pid>.ports` ({"nats": ["nats://127.0.0.1:PORT"], ...}). */
async function clientUrl(dir: string, pid: number, log: () => string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const file = (await readdir(dir)).find((f) => f.endsWith(`_${pid}.ports`));
    // The file may be caught half-written: try again until it parses.
    const ports = file
      ? await readFile(join(dir, file), 'utf8').then(
          (t) => JSON.parse(t) as { nats?: string[] },
          () => undefined,
        )
      : undefined;
    const url = ports?.nats?.[0];
    if (url) return url;
    if (Date.now() > deadline) throw new Error(`nats-server wrote no ports file in ${dir}: ${log()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
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
