import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthProbe {
  /** Liveness: the process is serving; false only when it should be restarted. */
  live(): boolean;
  /** Readiness: hash lists loaded, models warm, NATS connected. */
  ready(): { ready: boolean; reasons: string[] };
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** /metrics for Prometheus, /healthz and /readyz for the orchestrator. */
export async function startMetricsServer(options: {
  registry: Registry;
  health: HealthProbe;
  host: string;
  port: number;
}): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/metrics') {
      options.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else if (path === '/healthz') {
      const live = options.health.live();
      res.writeHead(live ? 200 : 503, { 'content-type': 'text/plain' }).end(live ? 'ok\n' : 'not live\n');
    } else if (path === '/readyz') {
      const { ready, reasons } = options.health.ready();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ready, reasons }) + '\n');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The `metrics` settings of a service's config (kept structural: metrics/ sits below config/). */
export interface MetricsSettings {
  readonly enabled: boolean;
  readonly host: string;
  readonly port: number;
}

/** startMetricsServer where the service's settings enable it, else undefined: the one start-up every service shares. */
export async function startMetricsServerIf(
  settings: MetricsSettings,
  registry: Registry,
  health: HealthProbe,
): Promise<MetricsServer | undefined> {
  return settings.enabled ? startMetricsServer({ registry, health, host: settings.host, port: settings.port }) : undefined;
}
