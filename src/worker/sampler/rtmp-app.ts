/**
 * The RTMP application name ffmpeg derives from a URL's path (libavformat/rtmpproto.c, rtmp_open):
 * with `slist=` in the query, everything before the query; `/ondemand/...` is `ondemand`;
 * otherwise the first path segment, or the first two when a third follows and the second holds no
 * `:` (an app instance, `live/inst/key`). Needed to write the tcUrl ffmpeg would have sent
 * (`rtmp://host[:port]/app`) when it is given the checked address instead of the host name.
 * `path` is ffmpeg's: the URL's path with its query.
 */
export function rtmpApp(path: string): string {
  const q = path.indexOf('?');
  if (q >= 0 && path.slice(q).includes('slist=')) return path.slice(1, q);
  if (path.startsWith('/ondemand/')) return 'ondemand';
  const next = path.startsWith('/') ? path.slice(1) : path;
  const p = next.indexOf('/');
  if (p < 0) return '';
  const rest = next.slice(p + 1);
  const slash = rest.indexOf('/');
  const colon = rest.indexOf(':');
  if (slash < 0 || (colon >= 0 && colon < slash)) return next.slice(0, p);
  return next.slice(0, p + 1 + slash);
}
