import { isIP } from 'node:net';
import { connect } from 'node:tls';
import type { ResolvedAddress } from './policy.js';

export interface TlsPreflight {
  /** Whether `address:port` presents a certificate valid for `host` (cached for a while when it does). */
  check(host: string, address: ResolvedAddress, port: number): Promise<{ ok: true } | { ok: false; detail: string }>;
}

export interface TlsPreflightOptions {
  /** PEM bundle to trust; Node's own CA store when absent. */
  readonly ca?: string;
  readonly timeoutMs: number;
  /** How long a verified host:address:port is trusted without another handshake. Default 5 min. */
  readonly cacheMs?: number;
  readonly now?: () => number;
}

/** Verified targets remembered per proxy; beyond this the oldest are forgotten. */
const MAX_CACHED = 256;

/**
 * ffmpeg verifies the certificate of the URL it is given (`-tls_verify 1`), but its HLS demuxer
 * does not pass that option on to the segments, keys and variant playlists it opens, so those
 * are fetched over unverified TLS (ffmpeg 5.1, found by a test). A CONNECT tunnel is opaque to
 * the proxy, so instead, before tunnelling, the proxy makes its own handshake to the very
 * address it will connect to, with the host's name, and tunnels only when that certificate
 * verifies: a server that cannot prove the name never receives a request. This is weaker than
 * verification inside the tunnel (an attacker on the network path who lets the check through and
 * intercepts the tunnel is not stopped), and it is what can be done without terminating TLS.
 */
export function createTlsPreflight(o: TlsPreflightOptions): TlsPreflight {
  const verified = new Map<string, number>();
  const cacheMs = o.cacheMs ?? 5 * 60_000;
  const now = o.now ?? Date.now;

  const handshake = (host: string, to: ResolvedAddress, port: number): Promise<{ ok: true } | { ok: false; detail: string }> =>
    new Promise((resolve) => {
      const socket = connect({
        host: to.address,
        port,
        // SNI and the name checked: the host's, not the address connected to (no SNI for an address).
        ...(isIP(host) ? {} : { servername: host }),
        ...(o.ca ? { ca: o.ca } : {}),
        rejectUnauthorized: true,
        timeout: o.timeoutMs,
      });
      const done = (r: { ok: true } | { ok: false; detail: string }): void => {
        socket.destroy();
        resolve(r);
      };
      socket.once('secureConnect', () => done({ ok: true }));
      socket.once('timeout', () => done({ ok: false, detail: `no TLS handshake within ${o.timeoutMs} ms` }));
      socket.once('error', (err: Error) => done({ ok: false, detail: `TLS verification failed: ${err.message}` }));
    });

  return {
    async check(host, to, port) {
      const key = `${host}|${to.address}|${port}`;
      const until = verified.get(key);
      if (until !== undefined && until > now()) return { ok: true };
      const result = await handshake(host, to, port);
      if (result.ok) {
        verified.delete(key);
        verified.set(key, now() + cacheMs);
        if (verified.size > MAX_CACHED) verified.delete(verified.keys().next().value!);
      }
      return result;
    },
  };
}
