/**
 * Stream URLs carry secrets: RTMP stream keys in the path, signed tokens in HLS query strings,
 * credentials in userinfo, SRT stream ids in the fragment. Logs and events get a form that still
 * says which host and app it was: userinfo, every query value and any fragment become `***`, and
 * for RTMP everything after the application name (the stream key) too. Never throws; text that
 * does not parse keeps only its scheme.
 */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(raw)?.[1];
    return scheme ? `${scheme}:<unparseable>` : '<unparseable>';
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (scheme === 'file') return raw;
  const userinfo = url.username || url.password ? '***@' : '';
  let path = url.pathname;
  if (scheme.startsWith('rtmp')) {
    const segs = path.split('/').filter(Boolean);
    if (segs.length > 1) path = `/${segs[0]}/***`;
  }
  const query = [...url.searchParams.keys()].map((k) => `${encodeURIComponent(k)}=***`).join('&');
  // url.host keeps the port; rtmp:, srt: are non-special schemes but still parse a host from scheme://.
  return `${scheme}://${userinfo}${url.host}${path}${query ? `?${query}` : ''}${url.hash.length > 1 ? '#***' : ''}`;
}

const URL_IN_TEXT = /\b[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s'"<>]+/g;

/** Redacts every scheme://... token in free text (ffmpeg log lines quote the URLs they open). */
export function redactUrlsInText(text: string): string {
  return text.replace(URL_IN_TEXT, (m) => redactUrl(m));
}
