import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy that can silently stop forwarding (a network partition: sockets stay
 * open, bytes go nowhere), so a test can cut one client off a real server while others keep it.
 */
export interface TcpProxy {
  readonly url: string;
  /** Drop all bytes in both directions until restore(). */
  partition(): void;
  /** The server goes away: open connections are closed and new ones refused until restore(). */
  refuse(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let cut = false;
  let refusing = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (d) => {
      if (!cut) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!cut) client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `nats://127.0.0.1:${port}`,
    partition: () => {
      cut = true;
    },
    refuse: () => {
      refusing = true;
      for (const s of sockets) s.destroy();
    },
    restore: () => {
      cut = false;
      refusing = false;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
