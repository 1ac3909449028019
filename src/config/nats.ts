import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../domain/errors.js';
import type { NatsConnectionSettings } from '../nats/connection.js';
import type { Config } from './schema.js';

/**
 * The NATS settings a deployable connects with: server list split, secret files read once (a
 * missing or empty file fails start-up with every such problem listed), relative paths taken
 * from the config file's folder.
 */
export function resolveNatsSettings(n: Config['nats'], base: string): NatsConnectionSettings {
  const issues: string[] = [];
  const read = (key: string, path: string | undefined): string | undefined => {
    if (path === undefined) return undefined;
    const full = isAbsolute(path) ? path : resolve(base, path);
    try {
      const text = readFileSync(full, 'utf8').trim();
      if (!text) issues.push(`nats.${key}: ${full} is empty`);
      return text;
    } catch (err) {
      issues.push(`nats.${key}: cannot read ${full} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      return undefined;
    }
  };
  const abs = (p: string | undefined): string | undefined => (p === undefined ? undefined : isAbsolute(p) ? p : resolve(base, p));
  const pass = n.pass ?? read('passFile', n.passFile);
  const token = n.token ?? read('tokenFile', n.tokenFile);
  const creds = read('credsFile', n.credsFile);
  const nkeySeed = read('nkeySeedFile', n.nkeySeedFile);
  const tls = n.tls
    ? { caFile: abs(n.tls.ca), certFile: abs(n.tls.cert), keyFile: abs(n.tls.key), handshakeFirst: n.tls.handshakeFirst }
    : undefined;
  for (const [key, file] of Object.entries(tls ?? {})) {
    if (typeof file === 'string') {
      try {
        readFileSync(file);
      } catch (err) {
        issues.push(`nats.tls.${key.replace(/File$/, '')}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
    }
  }
  if (issues.length > 0) throw new ConfigError('invalid NATS settings', issues);
  const servers = n.url
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    servers,
    name: n.name,
    ...(n.user === undefined ? {} : { user: n.user }),
    ...(pass === undefined ? {} : { pass }),
    ...(token === undefined ? {} : { token }),
    ...(creds === undefined ? {} : { creds }),
    ...(nkeySeed === undefined ? {} : { nkeySeed }),
    ...(tls ? { tls: Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined)) } : {}),
    ...(n.inboxPrefix === undefined ? {} : { inboxPrefix: n.inboxPrefix }),
    connectTimeoutMs: n.connectTimeoutMs,
    reconnectWaitMs: n.reconnectWaitMs,
    reconnectJitterMs: n.reconnectJitterMs,
  };
}
