/**
 * A server on a loopback address that records everything that reaches it: TCP connections,
 * HTTP requests (with the Host header), TLS handshakes that failed, and bytes received over TLS.
 * Security probes point the worker at it and assert what did (or did not) arrive.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';

export interface LoggedRequest {
  readonly method: string;
  readonly url: string;
  readonly host: string | undefined;
}

export interface LoggingServer {
  readonly host: string;
  readonly port: number;
  /** host:port as a URL authority (IPv6 in brackets). */
  readonly authority: string;
  readonly connections: number;
  readonly requests: readonly LoggedRequest[];
  /** TLS handshakes the client broke off (e.g. it did not trust the certificate). */
  readonly tlsErrors: number;
  /** Application bytes received over completed TLS connections (raw TLS servers only). */
  readonly tlsBytes: number;
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface LoggingServerOptions {
  /** Loopback address to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Default: any free port. */
  readonly port?: number;
  /** HTTP handler; default answers 404. Ignored with `rawTls`. */
  readonly handler?: Handler;
  /** Serve HTTPS (or raw TLS with `rawTls`) with this certificate. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** A TLS server that only counts what arrives (stands in for an rtmps server). */
  readonly rawTls?: boolean;
}

export async function startLoggingServer(opts: LoggingServerOptions = {}): Promise<LoggingServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!/^(127\.|::1$)/.test(host)) throw new Error(`logging servers listen on loopback only, not ${host}`);
  const requests: LoggedRequest[] = [];
  let connections = 0;
  let tlsErrors = 0;
  let tlsBytes = 0;
  const sockets = new Set<Socket>();
  const handler: Handler = opts.handler ?? ((_req, res) => res.writeHead(404).end());
  const onRequest: Handler = (req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host });
    handler(req, res);
  };

  let server: Server | ReturnType<typeof createTlsServer>;
  if (opts.rawTls && opts.tls) {
    server = createTlsServer(opts.tls, (s: TLSSocket) => {
      s.on('data', (d: Buffer) => (tlsBytes += d.length));
      s.on('error', () => s.destroy());
    });
  } else if (opts.tls) {
    server = createHttpsServer(opts.tls, onRequest);
  } else {
    server = createHttpServer(onRequest);
  }
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', () => tlsErrors++);
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, host, () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    host,
    port,
    authority: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    get connections() {
      return connections;
    },
    requests,
    get tlsErrors() {
      return tlsErrors;
    },
    get tlsBytes() {
      return tlsBytes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface TestPki {
  readonly dir: string;
  /** PEM of the test CA (give it to the sampler as tlsCaFile). */
  readonly caFile: string;
  /** Certificate for `name` (and these IP addresses), issued by the test CA. */
  issued(name: string, ips?: readonly string[]): { cert: string; key: string };
  /** The same, as files (for servers configured by path). */
  issuedFiles(name: string, ips?: readonly string[]): { certFile: string; keyFile: string };
  /** Self-signed certificate for `name`: nobody trusts it. */
  selfSigned(name: string): { cert: string; key: string };
}

/** A throwaway CA and certificates made with the openssl CLI (short-lived, in a temp dir). */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'streamscreen-pki-'));
  const ssl = (args: string): void => void execFileSync('openssl', args.split(' '), { cwd: dir, stdio: 'ignore' });
  const read = (base: string): { cert: string; key: string } => ({
    cert: readFileSync(join(dir, `${base}.pem`), 'utf8'),
    key: readFileSync(join(dir, `${base}.key`), 'utf8'),
  });
  ssl('req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=streamscreen-test-CA');
  const pki: TestPki = {
    dir,
    caFile: join(dir, 'ca.pem'),
    issued: (name, ips = []) => {
      const { certFile, keyFile } = pki.issuedFiles(name, ips);
      return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
    },
    issuedFiles: (name, ips = []) => {
      const base = `issued-${name}`;
      const extFile = join(dir, `${base}.ext`);
      // serverAuth and clientAuth: a cluster node is both ends of its routes.
      const san = [`DNS:${name}`, ...ips.map((ip) => `IP:${ip}`)].join(',');
      writeFileSync(extFile, `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
      ssl(`req -newkey rsa:2048 -nodes -keyout ${base}.key -out ${base}.csr -subj /CN=${name}`);
      ssl(`x509 -req -in ${base}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out ${base}.pem -days 2 -extfile ${extFile}`);
      return { certFile: join(dir, `${base}.pem`), keyFile: join(dir, `${base}.key`) };
    },
    selfSigned: (name) => {
      const base = `self-${name}`;
      ssl(
        `req -x509 -newkey rsa:2048 -nodes -keyout ${base}.key -out ${base}.pem -days 2 -subj /CN=${name} -addext subjectAltName=DNS:${name}`,
      );
      return read(base);
    },
  };
  return pki;
}
