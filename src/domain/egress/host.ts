import { isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';

/** A URL's host after normalisation: an IP address, or a DNS name in lower-case ASCII. */
export type ParsedHost =
  { readonly kind: 'ip'; readonly address: string; readonly family: 4 | 6 } | { readonly kind: 'name'; readonly name: string };

const NUMERIC_PART = /^(?:0x[0-9a-f]*|\d+)$/i;
const NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/**
 * Reads a host as the resolver would, so the address checked is the address connected to.
 * `0x7f000001`, `2130706433`, `0177.0.0.1` and `127.1` are all 127.0.0.1 to the C library's
 * inet_aton (which ffmpeg's getaddrinfo uses for rtmp:// and srt:// hosts, whose URLs the WHATWG
 * parser leaves as written), so they are read as that address here too. A host whose last label
 * is numeric but is no valid IPv4 address, an IPv6 zone id, percent-escapes or characters no DNS
 * name has are refused (undefined), never passed on to a resolver to interpret.
 */
export function parseHost(raw: string): ParsedHost | undefined {
  if (raw.startsWith('[') || raw.includes(':')) {
    const inner = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
    return isIPv6(inner) && !inner.includes('%') ? { kind: 'ip', address: inner.toLowerCase(), family: 6 } : undefined;
  }
  let host = raw.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host.length === 0) return undefined;
  const labels = host.split('.');
  if (NUMERIC_PART.test(labels[labels.length - 1]!)) {
    const address = inetAton(labels);
    return address === undefined ? undefined : { kind: 'ip', address, family: 4 };
  }
  const ascii = domainToASCII(host);
  return ascii && NAME.test(ascii) ? { kind: 'name', name: ascii } : undefined;
}

/** inet_aton's reading of 1 to 4 numeric parts (decimal, 0x hex, 0-prefixed octal); the last part fills the remaining bytes. */
function inetAton(parts: readonly string[]): string | undefined {
  if (parts.length > 4) return undefined;
  const values: number[] = [];
  for (const p of parts) {
    if (!NUMERIC_PART.test(p)) return undefined;
    const v = /^0x/i.test(p)
      ? p.length === 2
        ? 0
        : parseInt(p.slice(2), 16)
      : p.length > 1 && p.startsWith('0')
        ? parseOctal(p)
        : Number(p);
    if (v === undefined || !Number.isSafeInteger(v)) return undefined;
    values.push(v);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 0xff) || last >= 2 ** (8 * (4 - values.length))) return undefined;
  let n = last;
  values.forEach((v, i) => (n += v * 2 ** (8 * (3 - i))));
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

function parseOctal(p: string): number | undefined {
  return /^[0-7]+$/.test(p) ? parseInt(p, 8) : undefined;
}

/** How an address is written as a URL host: IPv6 in brackets. */
export function urlHost(address: string, family: 4 | 6): string {
  return family === 6 ? `[${address}]` : address;
}
