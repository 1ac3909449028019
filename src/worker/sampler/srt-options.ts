/**
 * SRT URL options (`srt://host:port?k=v&...`) a stream URL may carry. libsrt reads them from the
 * URL and they win over ffmpeg's own options, so an option missing here is refused rather than
 * stripped: `mode=listener` or `rendezvous` would make the worker open a socket for anyone to
 * connect to, buffer and TTL options reach into the host's network stack, and a caller who sent
 * one should learn that it was not honoured.
 */
const ALLOWED = new Set([
  // Which stream to pull from a multiplexing server, and its encryption.
  'streamid',
  'srt_streamid',
  'passphrase',
  'pbkeylen',
  'enforced_encryption',
  // Latency and loss handling: the receiver's side of the stream's own tuning.
  'latency',
  'rcvlatency',
  'peerlatency',
  'tlpktdrop',
  'nakreport',
  'tsbpd',
  'payload_size',
  'pkt_size',
  'minversion',
  'connect_timeout',
]);

/** Allowed only with these values. */
const FIXED: Readonly<Record<string, readonly string[]>> = {
  // Caller: the worker connects out. Never listener or rendezvous.
  mode: ['caller'],
  transtype: ['live'],
};

/** Longest connect_timeout honoured, in ms: a source that never answers must not hold a slot. */
const MAX_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Checks the raw query of an srt:// URL (everything after the first `?`, fragment included, as
 * libsrt reads it: stream ids like `#!::r=live,m=request` keep their `#`). Returns the problems,
 * one per offending option; an empty list means the query may be passed to ffmpeg unchanged.
 */
export function srtQueryIssues(rawQuery: string): string[] {
  const issues: string[] = [];
  if (rawQuery === '') return issues;
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = (eq < 0 ? pair : pair.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    const fixed = FIXED[key];
    if (fixed) {
      if (!fixed.includes(value.toLowerCase()))
        issues.push(`srt option ${key}=${value.slice(0, 32)} is not allowed (only ${fixed.join(', ')})`);
    } else if (!ALLOWED.has(key)) {
      issues.push(`srt option "${key.slice(0, 32)}" is not allowed`);
    } else if (key === 'connect_timeout' && !(Number(value) > 0 && Number(value) <= MAX_CONNECT_TIMEOUT_MS)) {
      issues.push(`srt option connect_timeout must be 1-${MAX_CONNECT_TIMEOUT_MS} ms`);
    }
  }
  return issues;
}
