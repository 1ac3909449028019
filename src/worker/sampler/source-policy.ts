import { SourceError } from '../../domain/errors.js';
import { urlHost } from '../../domain/egress/host.js';
import type { EgressPolicy } from './egress/policy.js';
import { rtmpApp } from './rtmp-app.js';
import type { SourceUrl } from './source-url.js';

/** What one ffmpeg run opens, after the source policy: the URL and the input options that go with it. */
export interface PreparedInput {
  /** The exact `-i` argument. Carries the stream's secrets: never log it. */
  readonly input: string;
  /** Input options placed before `-i` (proxy, TLS verification, tcUrl). Never log them (the proxy's credentials). */
  readonly args: readonly string[];
}

export interface PrepareContext {
  readonly policy: EgressPolicy;
  /** The egress proxy's URL (with credentials); needed for http, https and rtmps. */
  readonly proxyUrl?: string;
  /** CA bundle ffmpeg verifies https and rtmps servers against; the system's when absent. */
  readonly tlsCaFile?: string;
}

export type Preparation = { readonly ok: true; readonly value: PreparedInput } | { readonly ok: false; readonly error: SourceError };

/**
 * Applies the source policy before an ffmpeg run, so a refused source never starts one:
 *  - every host is resolved and checked (policy.ts) on each attempt;
 *  - http(s) and rtmps are read through the egress proxy, which checks every further connection
 *    ffmpeg makes (segments, redirects); ffmpeg gets the normalised URL, and `-tls_verify 1` for
 *    https and rtmps;
 *  - rtmp and srt have no proxy support in ffmpeg, so ffmpeg is given the checked address in
 *    place of the name (it cannot resolve to anything else between check and connect), and for
 *    rtmp the tcUrl it would have sent, so the server still sees the name. RTMP cannot redirect
 *    ffmpeg elsewhere (a reconnect request goes back to the same address); SRT caller mode makes
 *    only this one connection. The egress firewall rule (README) is the second layer for both.
 */
export async function prepareSource(source: SourceUrl, ctx: PrepareContext): Promise<Preparation> {
  if (source.kind === 'file') return { ok: true, value: { input: source.input, args: [] } };
  const url = new URL(source.input);
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const verdict = await ctx.policy.check(url.hostname);
  if (!verdict.ok) {
    const refused = verdict.reason === 'refused';
    return {
      ok: false,
      error: new SourceError(refused ? 'source_refused' : 'source_unreachable', `source policy: ${verdict.detail}`, {
        retryable: !refused,
      }),
    };
  }
  const tls = ['-tls_verify', '1', ...(ctx.tlsCaFile ? ['-ca_file', ctx.tlsCaFile] : [])];
  const proxy = (): string[] => {
    if (!ctx.proxyUrl) throw new Error(`${scheme} sources need the egress proxy`);
    return ['-http_proxy', ctx.proxyUrl];
  };
  switch (scheme) {
    case 'http':
      return { ok: true, value: { input: url.href, args: proxy() } };
    case 'https':
    case 'rtmps':
      return {
        ok: true,
        value: { input: scheme === 'https' ? url.href : withHost(source.input, url, verdict.host), args: [...proxy(), ...tls] },
      };
    case 'rtmp': {
      const to = verdict.addresses[0];
      const pinned = withHost(source.input, url, urlHost(to.address, to.family));
      const path = pathAndQuery(source.input);
      const tcUrl = `rtmp://${url.host.toLowerCase()}/${rtmpApp(path)}`;
      return { ok: true, value: { input: pinned, args: ['-rtmp_tcurl', tcUrl] } };
    }
    default: {
      const to = verdict.addresses[0];
      return { ok: true, value: { input: withHost(source.input, url, urlHost(to.address, to.family)), args: [] } };
    }
  }
}

/**
 * The raw URL with its host replaced and everything else (userinfo, port, path, query, fragment)
 * exactly as written: rtmp and srt URLs are read by ffmpeg, not by a WHATWG parser, and an SRT
 * stream id's `#` or an RTMP path must reach it unchanged.
 */
function withHost(raw: string, url: URL, host: string): string {
  const start = raw.indexOf('//') + 2;
  const authorityEnd = authorityLength(raw, start);
  const authority = raw.slice(start, authorityEnd);
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at + 1) : '';
  const port = url.port ? `:${url.port}` : '';
  return `${raw.slice(0, start)}${userinfo}${host}${port}${raw.slice(authorityEnd)}`;
}

function authorityLength(raw: string, start: number): number {
  const m = /[/?#]/.exec(raw.slice(start));
  return m ? start + m.index : raw.length;
}

function pathAndQuery(raw: string): string {
  const start = raw.indexOf('//') + 2;
  const rest = raw.slice(authorityLength(raw, start));
  const hash = rest.indexOf('#');
  return hash >= 0 ? rest.slice(0, hash) : rest;
}
