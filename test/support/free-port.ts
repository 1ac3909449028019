import { createServer } from 'node:net';

/**
 * A loopback port free right now. It is released before the caller binds it, so another process
 * could take it in between: only for servers that cannot bind port 0 and report the port they got
 * (ffmpeg's listen mode). nats-server picks its own (see nats-server.ts).
 */
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
