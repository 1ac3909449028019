import {
  connect,
  credsAuthenticator,
  nkeyAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
  type Authenticator,
  type ConnectionOptions,
  type NatsConnection,
} from '@nats-io/transport-node';
import { StreamscreenError } from '../domain/errors.js';
import type { Logger } from '../domain/logger.js';
import { redactUrl } from '../domain/redact.js';
import { isAuthOrTlsFailure } from './errors.js';

/**
 * Everything needed to reach NATS, resolved once by config/ (secrets already read from their
 * files or the environment). Server URLs carry no credentials: config/ moves userinfo out of
 * NATS_URL into user/pass or token, because the client ignores it there.
 */
export interface NatsConnectionSettings {
  readonly servers: readonly string[];
  /** Connection name shown in the server's monitoring; callers append their instance id. */
  readonly name: string;
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  /** Contents of a .creds file (user JWT + NKey seed). */
  readonly creds?: string;
  /** An NKey seed (`SU...`). */
  readonly nkeySeed?: string;
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string; readonly handshakeFirst?: boolean };
  /** Reply-inbox subject prefix (per-role permissions); the client's `_INBOX` when absent. */
  readonly inboxPrefix?: string;
  /** How long the first connection may take before start-up fails. */
  readonly connectTimeoutMs: number;
  /** Wait between reconnect attempts, plus a random jitter so a fleet does not reconnect in lockstep. */
  readonly reconnectWaitMs: number;
  readonly reconnectJitterMs: number;
}

export class NatsConnectError extends StreamscreenError {
  override name = 'NatsConnectError';
  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super('nats_connect_failed', message, options);
  }
}

/**
 * Connects and fails fast: refused credentials, a TLS failure or an unreachable server reject the
 * first connection within connectTimeoutMs instead of hanging start-up. Once connected, the
 * client (unless `reconnect: false`) reconnects forever (a worker, bridge or enforcer outlives any NATS restart; the
 * client's default gives up after 10 tries), with jittered waits.
 */
export async function connectNats(
  settings: NatsConnectionSettings,
  logger: Logger,
  opts: { readonly instance?: string; readonly reconnect?: boolean } = {},
): Promise<NatsConnection> {
  const { instance } = opts;
  const servers = settings.servers.map((s) => redactUrl(s));
  const options: ConnectionOptions = {
    servers: [...settings.servers],
    name: instance ? `${settings.name}-${instance}` : settings.name,
    timeout: settings.connectTimeoutMs,
    // One-shot commands (reconnect: false) fail fast rather than retry into a dead server.
    ...(opts.reconnect === false ? { reconnect: false } : { maxReconnectAttempts: -1 }),
    reconnectTimeWait: settings.reconnectWaitMs,
    reconnectJitter: settings.reconnectJitterMs,
    reconnectJitterTLS: settings.reconnectJitterMs,
    waitOnFirstConnect: false,
    ...authenticatorFor(settings),
    ...(settings.inboxPrefix ? { inboxPrefix: settings.inboxPrefix } : {}),
    ...(settings.tls ? { tls: { ...settings.tls } } : {}),
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const nc = await Promise.race([
      connect(options),
      new Promise<never>((_, reject) => {
        // The client's own timeout covers the handshake; this also bounds DNS and TLS set-up.
        timer = setTimeout(
          () => reject(new Error(`no connection within ${settings.connectTimeoutMs} ms`)),
          settings.connectTimeoutMs + 1000,
        );
      }),
    ]);
    logger.info({ servers, name: options.name, auth: authKind(settings), tls: Boolean(settings.tls) }, 'connected to NATS');
    return nc;
  } catch (err) {
    const terminal = isAuthOrTlsFailure(err);
    throw new NatsConnectError(
      `cannot connect to NATS at ${servers.join(', ')}: ${err instanceof Error ? err.message : String(err)}${terminal ? ' (check credentials and TLS settings)' : ''}`,
      { cause: err, retryable: !terminal },
    );
  } finally {
    clearTimeout(timer);
  }
}

function authenticatorFor(s: NatsConnectionSettings): { authenticator?: Authenticator } {
  const enc = new TextEncoder();
  if (s.creds !== undefined) return { authenticator: credsAuthenticator(enc.encode(s.creds)) };
  if (s.nkeySeed !== undefined) return { authenticator: nkeyAuthenticator(enc.encode(s.nkeySeed.trim())) };
  if (s.token !== undefined) return { authenticator: tokenAuthenticator(s.token) };
  if (s.user !== undefined) return { authenticator: usernamePasswordAuthenticator(s.user, s.pass) };
  return {};
}

/** Which kind of login is used, for logs: never the secret itself. */
function authKind(s: NatsConnectionSettings): string {
  if (s.creds !== undefined) return 'creds';
  if (s.nkeySeed !== undefined) return 'nkey';
  if (s.token !== undefined) return 'token';
  if (s.user !== undefined) return 'user';
  return 'none';
}

export interface ConnectionWatch {
  /** False from a disconnect until the client has reconnected, and once closed. */
  connected(): boolean;
}

/**
 * Follows the client's status stream: a reconnecting client is not ready. `onChange` lets a
 * deployable count disconnects or set a gauge without this kit knowing about metrics.
 */
export function watchConnection(nc: NatsConnection, logger: Logger, onChange?: (connected: boolean) => void): ConnectionWatch {
  let connected = !nc.isClosed();
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        connected = false;
        logger.warn('NATS disconnected: not ready until reconnected');
        onChange?.(false);
      } else if (s.type === 'reconnect') {
        connected = true;
        logger.info('NATS reconnected');
        onChange?.(true);
      }
    }
  })().catch(() => undefined);
  return { connected: () => connected && !nc.isClosed() };
}
