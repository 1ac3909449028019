/**
 * Debian's nginx with its RTMP module as an ingest server (tests, the load benchmark): one cheap
 * process relays every published stream to any number of players, on 127.0.0.1 only.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cutLifeline, spawnWithLifeline, terminate, type LifelineChild } from '../../src/worker/sampler/lifeline.js';
import { freePort } from './nats-server.js';

export const RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';

export interface RtmpServer {
  /** rtmp://127.0.0.1:<port>/live */
  readonly base: string;
  stop(): Promise<void>;
}

export async function startNginxRtmp(nginx = '/usr/sbin/nginx'): Promise<RtmpServer> {
  if (!existsSync(RTMP_MODULE)) throw new Error(`${RTMP_MODULE} not found (apt-get install nginx libnginx-mod-rtmp)`);
  const dir = await mkdtemp(join(tmpdir(), 'streamscreen-nginx-'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  await writeFile(
    conf,
    [
      `load_module ${RTMP_MODULE};`,
      'daemon off;',
      // One process: the lifeline wrapper then holds all of nginx.
      'master_process off;',
      'worker_processes 1;',
      `error_log ${join(dir, 'error.log')} warn;`,
      `pid ${join(dir, 'nginx.pid')};`,
      'events { worker_connections 4096; }',
      'rtmp {',
      '  server {',
      `    listen 127.0.0.1:${port};`,
      '    chunk_size 4096;',
      '    application live { live on; record off; }',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const child: LifelineChild = spawnWithLifeline(nginx, ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf]);
  child.stdout.resume();
  child.stderr.resume();
  child.on('close', () => cutLifeline(child));
  const deadline = Date.now() + 10_000;
  while (!(await listening(port))) {
    if (Date.now() > deadline) {
      const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
      await terminate(child, { graceful: false, graceMs: 1000 });
      throw new Error(`nginx did not listen on ${port}: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base: `rtmp://127.0.0.1:${port}/live`,
    stop: async () => {
      await terminate(child, { graceful: true, graceMs: 2000 });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function listening(port: number): Promise<boolean> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const table = await readFile('/proc/net/tcp', 'utf8').catch(() => '');
  return table.split('\n').some((l) => {
    const f = l.trim().split(/\s+/);
    return f[1]?.endsWith(`:${hex}`) && f[3] === '0A';
  });
}
