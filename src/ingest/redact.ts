/**
 * Stream URLs carry secrets (RTMP stream keys in the path, tokens in the query, credentials):
 * events and logs get a form that still says which host and app it was, without the key.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '(unparseable url)';
  }
  if (u.username || u.password) {
    u.username = '***';
    u.password = '';
  }
  if (u.search) u.search = '?***';
  const parts = u.pathname.split('/');
  // rtmp://host/app/<stream key>: the last path segment is the key.
  if (/^rtmps?:$/.test(u.protocol) && parts.length > 2) parts[parts.length - 1] = '***';
  u.pathname = parts.join('/');
  return u.toString();
}
