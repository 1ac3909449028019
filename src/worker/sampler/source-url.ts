import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { SourceError } from '../../domain/errors.js';
import { redactUrl, redactUrlsInText } from '../../domain/redact.js';
import { srtQueryIssues } from './srt-options.js';

export type SourceKind = 'rtmp' | 'srt' | 'hls' | 'file';

export interface ParseSourceUrlOptions {
  /** Local file paths are for testing only; refused unless this is set. */
  allowFiles?: boolean;
  /** Input protocols of the ffmpeg that will read the source (FfmpegBinary.protocols); gates srt. */
  protocols?: ReadonlySet<string>;
  /** Schemes the operator allows (sampler.allowSchemes); others are refused (`source_refused`). Default: all five. */
  schemes?: ReadonlySet<string>;
}

const MAX_URL_LENGTH = 4096;

/**
 * ffmpeg opens nested URLs on its own (RTMP over TLS, HLS playlists naming segments, keys and
 * further playlists). The whitelist is what stops a playlist from pointing ffmpeg at `file:`,
 * `concat:` or some other protocol; it is inherited by every nested open.
 */
const PROTOCOL_WHITELIST: Readonly<Record<SourceKind, string>> = {
  // httpproxy: rtmps and https reach their server through the egress proxy's CONNECT tunnel.
  rtmp: 'rtmp,rtmps,tcp,tls,httpproxy',
  srt: 'srt',
  // crypto: AES-128 segments are opened as crypto+http(s)://.
  hls: 'http,https,tcp,tls,crypto,httpproxy',
  file: 'file',
};

/**
 * A validated source. The URL itself is only reachable through `input` (for ffmpeg's argv):
 * serialising or inspecting the object (pino, console.log) yields the redacted form, because
 * RTMP URLs carry stream keys and HLS URLs signed tokens.
 */
export class SourceUrl {
  readonly #input: string;
  readonly #secrets: readonly string[];

  constructor(
    readonly kind: SourceKind,
    input: string,
    /** Safe to log and to put in events. */
    readonly redacted: string,
    secrets: readonly string[],
  ) {
    this.#input = input;
    // Longest first, so a secret that contains another is replaced whole.
    this.#secrets = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  }

  /** The exact string ffmpeg is given after `-i`. Never log it. */
  get input(): string {
    return this.#input;
  }

  get live(): boolean {
    return this.kind !== 'file';
  }

  get protocolWhitelist(): string {
    return PROTOCOL_WHITELIST[this.kind];
  }

  /** Demuxer to force, so ffmpeg does not spend time (or bytes from the source) guessing. */
  get format(): string | undefined {
    switch (this.kind) {
      case 'rtmp':
        return 'flv';
      case 'hls':
        return 'hls';
      case 'srt':
        return 'mpegts';
      case 'file':
        return undefined;
    }
  }

  /** Removes this URL's secrets, and those of any URL it finds, from free text such as ffmpeg's stderr. */
  redact(text: string): string {
    let out = redactUrlsInText(text);
    for (const s of this.#secrets) out = out.split(s).join('***');
    return out;
  }

  toJSON(): string {
    return this.redacted;
  }

  toString(): string {
    return this.redacted;
  }

  [inspect.custom](): string {
    return `SourceUrl<${this.kind} ${this.redacted}>`;
  }
}

function invalid(message: string): SourceError {
  return new SourceError('source_invalid', message, { retryable: false });
}

/** Well-formed, but against the source policy. */
function refused(message: string): SourceError {
  return new SourceError('source_refused', message, { retryable: false });
}

/**
 * Validates a stream URL against the scheme allowlist: rtmp/rtmps, srt (only when this ffmpeg has
 * it, caller mode, allowed options only: srt-options.ts), http/https (read as HLS), and local
 * paths only with `allowFiles`. Throws a non-retryable SourceError whose message never contains
 * the URL's secrets: `source_invalid` for a malformed URL, `source_refused` for one the policy
 * forbids. Hosts are checked per attempt, after resolution (source-policy.ts).
 */
export function parseSourceUrl(raw: string, options: ParseSourceUrlOptions = {}): SourceUrl {
  if (typeof raw !== 'string' || raw.length === 0) throw invalid('source URL is empty');
  if (raw.length > MAX_URL_LENGTH) throw invalid(`source URL is longer than ${MAX_URL_LENGTH} characters`);
  // Whitespace and control characters have no place in a URL and would let one argv entry
  // smuggle something past a human reading the logs.
  // Control characters are exactly what is refused here.
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(raw)) throw invalid('source URL contains whitespace or control characters');

  const schemeMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(raw);
  const looksLikePath = raw.startsWith('/') || raw.startsWith('./') || raw.startsWith('../../');
  if (looksLikePath || schemeMatch?.[1]?.toLowerCase() === 'file') {
    if (!options.allowFiles) throw invalid('local file sources are only accepted when files are explicitly allowed (testing)');
    let path: string;
    try {
      path = looksLikePath ? raw : fileURLToPath(raw);
    } catch (err) {
      throw new SourceError('source_invalid', `not a usable file URL: ${redactUrl(raw)}`, { retryable: false, cause: err });
    }
    const abs = isAbsolute(path) ? path : resolve(path);
    // `file:` prefix so a path containing ':' is never read as some other protocol.
    return new SourceUrl('file', `file:${abs}`, abs, []);
  }
  if (!schemeMatch) throw invalid('source URL has no scheme (expected rtmp://, rtmps://, srt:// or https://)');

  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    throw new SourceError('source_invalid', `source URL does not parse: ${redactUrl(raw)}`, { retryable: false, cause: err });
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  let kind: SourceKind;
  switch (scheme) {
    case 'rtmp':
    case 'rtmps':
      kind = 'rtmp';
      break;
    case 'srt':
      kind = 'srt';
      break;
    case 'http':
    case 'https':
      kind = 'hls';
      break;
    default:
      throw invalid(`source scheme "${scheme}" is not allowed (allowed: rtmp, rtmps, srt, http, https)`);
  }
  if (options.schemes && !options.schemes.has(scheme)) {
    throw refused(`source scheme "${scheme}" is not allowed here (sampler.allowSchemes: ${[...options.schemes].join(', ')})`);
  }
  if (!url.hostname) throw invalid(`source URL has no host: ${redactUrl(raw)}`);
  if (kind === 'srt') {
    const q = raw.indexOf('?');
    const issues = srtQueryIssues(q < 0 ? '' : raw.slice(q + 1));
    if (issues.length) throw refused(issues.join('; '));
  }
  if (options.protocols && !options.protocols.has(scheme)) {
    throw invalid(
      scheme === 'srt'
        ? 'this ffmpeg was built without SRT support; set FFMPEG_PATH to an ffmpeg with libsrt (the bundled 2018 build has none)'
        : `this ffmpeg cannot read ${scheme}:// sources`,
    );
  }
  return new SourceUrl(kind, raw, redactUrl(raw), secretsOf(url, kind));
}

function secretsOf(url: URL, kind: SourceKind): string[] {
  const secrets: string[] = [];
  if (url.username) secrets.push(url.username, decodeSafe(url.username));
  if (url.password) secrets.push(url.password, decodeSafe(url.password));
  for (const [, value] of url.searchParams) secrets.push(value, encodeURIComponent(value));
  // An unescaped '#' (SRT stream ids start with "#!::") turns the rest of the query into a fragment.
  if (url.hash.length > 1) {
    const fragment = url.hash.slice(1);
    secrets.push(fragment, decodeSafe(fragment));
    for (const part of fragment.split('&')) {
      const value = part.slice(part.indexOf('=') + 1);
      secrets.push(value, decodeSafe(value));
    }
  }
  if (kind === 'rtmp') {
    for (const seg of url.pathname.split('/').filter(Boolean).slice(1)) secrets.push(seg, decodeSafe(seg));
  }
  return secrets;
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// Redaction lives in domain/ (events and ingest use it too); re-exported for the sampler's callers.
export { redactUrl, redactUrlsInText };
