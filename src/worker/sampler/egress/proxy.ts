import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../../domain/logger.js';
import { redactUrl } from '../../../domain/redact.js';
import { urlHost } from '../../../domain/egress/host.js';
import type { EgressPolicy, ResolvedAddress } from './policy.js';
import { createTlsPreflight, type TlsPreflight } from './tls-preflight.js';

/** A connection the proxy did not make, as the sampler is told about it (details stay in logs). */
export interface EgressBlocked {
  /** `refused`: the source policy forbids the host. `tls`: the host could not prove its name. */
  readonly kind: 'refused' | 'tls';
  readonly host: string;
  readonly port: number;
  readonly detail: string;
}

export interface EgressProxyOptions {
  readonly policy: EgressPolicy;
  readonly logger: Logger;
  /** An upstream that does not accept the connection within this long is given up (502). */
  readonly connectTimeoutMs: number;
  /** A proxied connection with no traffic either way for this long is closed. */
  readonly idleTimeoutMs: number;
  /**
   * Check every CONNECT target's certificate before tunnelling (see tls-preflight.ts), with this
   * CA bundle (PEM) or Node's when absent. Off only in tests of the proxy itself.
   */
  readonly verifyTls: boolean;
  readonly ca?: string;
  readonly onBlocked?: (blocked: EgressBlocked) => void;
}

export interface EgressProxy {
  /** For ffmpeg's `-http_proxy`: loopback, with this proxy's one-off credentials. Never log it. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Request and response headers that describe one hop, not the message; never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * The only way out for the http(s) connections of one ffmpeg: it is given `-http_proxy` and sends
 * every request here, the playlist's, each segment's and key's, every variant's, and every
 * redirect's, as an absolute-form GET (http) or a CONNECT tunnel (https, rtmps). Each one is
 * checked by the policy here, and the connection is made here, to the very address checked, so
 * neither a playlist naming another host, a 302 to another port nor a DNS answer that changes
 * between check and connect (rebinding) gets past it. Listens on loopback only, behind one-off
 * Basic credentials so no other local process can use it as a relay.
 */
export async function startEgressProxy(o: EgressProxyOptions): Promise<EgressProxy> {
  const log = o.logger.child({ component: 'egress-proxy' });
  const user = randomBytes(9).toString('hex');
  const pass = randomBytes(18).toString('hex');
  const expectedAuth = Buffer.from(`Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`);
  const preflight: TlsPreflight | undefined = o.verifyTls ? createTlsPreflight({ ca: o.ca, timeoutMs: o.connectTimeoutMs }) : undefined;
  const sockets = new Set<Duplex>();

  const authorized = (headers: IncomingHttpHeaders): boolean => {
    const got = Buffer.from(headers['proxy-authorization'] ?? '');
    return got.length === expectedAuth.length && timingSafeEqual(got, expectedAuth);
  };
  const blocked = (b: EgressBlocked): void => {
    log.warn({ kind: b.kind, host: b.host, port: b.port, detail: b.detail }, 'egress blocked');
    o.onBlocked?.(b);
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!authorized(req.headers)) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="streamscreen"', 'content-length': '0' }).end();
      return;
    }
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400, { 'content-length': '0' }).end();
      return;
    }
    // ffmpeg reads; it has no business sending anything else, or plain requests for https URLs.
    if (target.protocol !== 'http:' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(405, { 'content-length': '0' }).end();
      return;
    }
    const port = Number(target.port || 80);
    const verdict = await o.policy.check(target.hostname);
    if (!verdict.ok) {
      if (verdict.reason === 'refused') blocked({ kind: 'refused', host: target.hostname, port, detail: verdict.detail });
      else log.warn({ url: redactUrl(target.href), detail: verdict.detail }, 'egress: cannot resolve');
      res.writeHead(verdict.reason === 'refused' ? 403 : 502, { 'content-length': '0' }).end();
      return;
    }
    const to = verdict.addresses[0];
    const upstream = request({
      host: to.address,
      family: to.family,
      port,
      method: req.method,
      path: `${target.pathname}${target.search}`,
      headers: { ...endToEnd(req.headers), host: target.host },
      setHost: false,
      agent: false,
      timeout: o.connectTimeoutMs,
    });
    upstream.on('timeout', () => upstream.destroy(new Error(`no answer within ${o.connectTimeoutMs} ms`)));
    upstream.on('error', (err) => {
      log.info({ url: redactUrl(target.href), address: to.address, err: err.message }, 'egress: upstream failed');
      if (!res.headersSent) res.writeHead(502, { 'content-length': '0' }).end();
      else res.destroy();
    });
    upstream.on('response', (up) => {
      up.socket.setTimeout(o.idleTimeoutMs, () => up.destroy());
      res.writeHead(up.statusCode ?? 502, endToEnd(up.headers));
      up.pipe(res);
    });
    res.on('close', () => upstream.destroy());
    upstream.end();
  };

  const onConnect = async (req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> => {
    const reply = (status: string): void => {
      client.end(`HTTP/1.1 ${status}\r\ncontent-length: 0\r\n\r\n`);
    };
    if (!authorized(req.headers)) {
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm="streamscreen"\r\ncontent-length: 0\r\n\r\n',
      );
      return;
    }
    let host: string;
    let port: number;
    try {
      const u = new URL(`http://${req.url ?? ''}`);
      host = u.hostname;
      port = Number(u.port);
      if (!port || u.pathname !== '/' || u.username || u.search) throw new Error('not host:port');
    } catch {
      reply('400 Bad Request');
      return;
    }
    const verdict = await o.policy.check(host);
    if (!verdict.ok) {
      if (verdict.reason === 'refused') blocked({ kind: 'refused', host, port, detail: verdict.detail });
      else log.warn({ host, port, detail: verdict.detail }, 'egress: cannot resolve');
      reply(verdict.reason === 'refused' ? '403 Forbidden' : '502 Bad Gateway');
      return;
    }
    const to: ResolvedAddress = verdict.addresses[0];
    if (preflight) {
      const tls = await preflight.check(verdict.host, to, port);
      if (!tls.ok) {
        blocked({ kind: 'tls', host, port, detail: tls.detail });
        reply('502 Bad Gateway');
        return;
      }
    }
    if (client.destroyed) return;
    const upstream = connect({ host: to.address, family: to.family, port, timeout: o.connectTimeoutMs });
    track(upstream);
    upstream.once('timeout', () => upstream.destroy(new Error(`no answer within ${o.connectTimeoutMs} ms`)));
    upstream.once('connect', () => {
      upstream.setTimeout(o.idleTimeoutMs);
      upstream.removeAllListeners('timeout');
      upstream.once('timeout', () => upstream.destroy());
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', (err) => {
      log.info({ host, port, address: urlHost(to.address, to.family), err: err.message }, 'egress: tunnel failed');
      if (upstream.connecting) reply('502 Bad Gateway');
      else client.destroy();
    });
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  };

  const track = (s: Duplex): void => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };

  const server = createServer({ requestTimeout: 0, headersTimeout: o.connectTimeoutMs, keepAliveTimeout: o.idleTimeoutMs });
  server.on('connection', (s: Socket) => {
    track(s);
    s.setTimeout(o.idleTimeoutMs, () => s.destroy());
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    onRequest(req, res).catch((err: unknown) => {
      log.error({ err }, 'egress proxy request failed');
      res.destroy();
    });
  });
  server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    client.on('error', () => client.destroy());
    onConnect(req, client, head).catch((err: unknown) => {
      log.error({ err }, 'egress proxy tunnel failed');
      client.destroy();
    });
  });
  server.on('clientError', (_err, s) => s.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${user}:${pass}@127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

/** The headers that belong to the message, without hop-by-hop ones (and those `Connection` names). */
function endToEnd(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const listed = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || listed.has(k)) continue;
    out[k] = v;
  }
  return out;
}
