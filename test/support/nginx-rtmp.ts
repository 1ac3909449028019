/**
 * A real nginx with Debian's RTMP module (libnginx-mod-rtmp) on 127.0.0.1, for the bridge and
 * enforcer tests, the demo and the benchmark. Every run gets a throw-away prefix with a config
 * generated here: an RTMP server whose applications call the given on_publish /
 * on_publish_done URLs, and an HTTP server with the rtmp_control location the enforcer kicks
 * through. `daemon off` and one worker process (nginx-rtmp keeps streams per worker, so the
 * control call must reach the worker that holds the stream); run as root it drops its workers
 * to `nobody`, as nginx does in production. nginx runs under the sampler's lifeline wrapper, so
 * it never outlives a crashed test run.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cutLifeline, hasExited, spawnWithLifeline, terminate, type LifelineChild } from '../../src/worker/sampler/lifeline.js';
import { eventually } from './eventually.js';
import { freePort } from './free-port.js';

export const NGINX_BIN = process.env.NGINX_BIN ?? '/usr/sbin/nginx';
export const RTMP_MODULE = process.env.NGINX_RTMP_MODULE ?? '/usr/lib/nginx/modules/ngx_rtmp_module.so';

/** Why nginx-rtmp cannot run here, or undefined when it can. */
export function nginxRtmpMissing(): string | undefined {
  if (!existsSync(NGINX_BIN)) return `${NGINX_BIN} not found (Debian: apt-get install nginx libnginx-mod-rtmp)`;
  if (!existsSync(RTMP_MODULE)) return `${RTMP_MODULE} not found (Debian: apt-get install libnginx-mod-rtmp)`;
  return undefined;
}

export interface NginxRtmpOptions {
  /** RTMP applications; default ['live']. */
  readonly apps?: readonly string[];
  /** Hook URLs (the bridge's), applied to every application. */
  readonly onPublish?: string;
  readonly onPublishDone?: string;
}

export interface NginxRtmp {
  readonly rtmpPort: number;
  readonly httpPort: number;
  /** `http://127.0.0.1:<port>/control`: what the enforcer's ingest config names. */
  readonly controlUrl: string;
  rtmpUrl(app: string, name: string): string;
  /** nginx's error log so far (for failure messages). */
  errorLog(): Promise<string>;
  stop(): Promise<void>;
}

export async function startNginxRtmp(options: NginxRtmpOptions = {}): Promise<NginxRtmp> {
  const missing = nginxRtmpMissing();
  if (missing) throw new Error(missing);
  const prefix = await mkdtemp(join(tmpdir(), 'streamscreen-nginx-'));
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const root = process.getuid?.() === 0;
  // nobody's workers must reach their temp directories under the prefix.
  await chmod(prefix, 0o755);
  for (const d of ['logs', 'tmp']) {
    await mkdir(join(prefix, d));
    await chmod(join(prefix, d), 0o777);
  }
  const conf = join(prefix, 'nginx.conf');
  await writeFile(conf, config({ prefix, rtmpPort, httpPort, root, ...options }));
  const child = spawnWithLifeline(NGINX_BIN, ['-p', prefix, '-c', conf, '-e', join(prefix, 'logs', 'error.log')]);
  let output = '';
  child.stdout.resume();
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (output.length < 8000) output += d;
  });
  child.on('close', () => cutLifeline(child));
  const errorLog = async () => readFile(join(prefix, 'logs', 'error.log'), 'utf8').catch(() => '');
  try {
    await eventually(
      async () => {
        if (hasExited(child)) throw new Error(`nginx exited: ${output}${await errorLog()}`);
        return (await listening(rtmpPort)) && (await listening(httpPort));
      },
      10_000,
      'nginx to listen',
    );
  } catch (err) {
    await stopNginx(child, prefix);
    throw err;
  }
  return {
    rtmpPort,
    httpPort,
    controlUrl: `http://127.0.0.1:${httpPort}/control`,
    rtmpUrl: (app, name) => `rtmp://127.0.0.1:${rtmpPort}/${app}/${name}`,
    errorLog,
    stop: () => stopNginx(child, prefix),
  };
}

function config(o: NginxRtmpOptions & { prefix: string; rtmpPort: number; httpPort: number; root: boolean }): string {
  const hooks = [
    ...(o.onPublish ? [`on_publish ${o.onPublish};`] : []),
    ...(o.onPublishDone ? [`on_publish_done ${o.onPublishDone};`] : []),
  ];
  const apps = (o.apps ?? ['live']).map(
    (app) => `    application ${app} {\n      live on;\n${hooks.map((h) => `      ${h}\n`).join('')}    }`,
  );
  return `load_module ${RTMP_MODULE};
${o.root ? 'user nobody nogroup;\n' : ''}daemon off;
master_process on;
worker_processes 1;
pid ${o.prefix}/nginx.pid;
error_log ${o.prefix}/logs/error.log notice;
events { worker_connections 256; }
rtmp {
  server {
    listen 127.0.0.1:${o.rtmpPort};
${apps.join('\n')}
  }
}
http {
  access_log off;
  client_body_temp_path ${o.prefix}/tmp/body;
  proxy_temp_path ${o.prefix}/tmp/proxy;
  fastcgi_temp_path ${o.prefix}/tmp/fastcgi;
  uwsgi_temp_path ${o.prefix}/tmp/uwsgi;
  scgi_temp_path ${o.prefix}/tmp/scgi;
  server {
    listen 127.0.0.1:${o.httpPort};
    location /control { rtmp_control all; }
  }
}
`;
}

async function stopNginx(child: LifelineChild, prefix: string): Promise<void> {
  // SIGTERM is nginx's fast shutdown: the master takes its workers down with it.
  if (!hasExited(child)) await terminate(child, { graceful: true, graceMs: 3_000 });
  cutLifeline(child);
  await rm(prefix, { recursive: true, force: true });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}
