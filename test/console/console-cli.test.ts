import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/console/auth/passwords.js';
import { startNatsServer, type NatsServerHandle } from '../support/nats-server.js';

// `streamscreen console` as an operator runs it: the built CLI (npm run build), its bundled front
// end from dist/console-ui, a config file, a real nats-server.

const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));

let nats: NatsServerHandle;
let dir: string;

beforeAll(async () => {
  nats = await startNatsServer();
  dir = mkdtempSync(join(tmpdir(), 'streamscreen-console-cli-'));
});

afterAll(async () => {
  await nats?.stop();
});

function writeConfig(name: string, consoleSection: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ nats: { url: nats.url }, log: { level: 'warn' }, console: { port: 0, ...consoleSection } }));
  return file;
}

describe('streamscreen console', () => {
  it('hash-password prints a scrypt hash of the password on stdin', async () => {
    const r = spawnSync(process.execPath, [CLI, 'console', 'hash-password'], { input: 'pw for the cli test\n', encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(await verifyPassword('pw for the cli test', r.stdout.trim())).toBe(true);
  });

  it('refuses to start without a session secret or a way to log in, saying both', () => {
    const r = spawnSync(process.execPath, [CLI, 'console', '--config', writeConfig('bad.json', {})], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/console\.sessionSecret: required/);
    expect(r.stderr).toMatch(/console\.accounts: no accounts/);
  });

  it('serves the bundled console from this machine, signs a user in, and stops on SIGTERM', async () => {
    const hash = spawnSync(process.execPath, [CLI, 'console', 'hash-password'], { input: 'pw', encoding: 'utf8' }).stdout.trim();
    const config = writeConfig('ok.json', {
      sessionSecret: randomBytes(32).toString('hex'),
      secureCookies: false,
      accounts: [{ id: 'ops', passwordHash: hash, roles: ['admin'] }],
    });
    const child = spawn(process.execPath, [CLI, 'console', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /console listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        void exited.then((code) => reject(new Error(`console exited with ${code}: ${stderr}`)));
      });

      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
      const html = await page.text();
      expect(html).toContain('<script type="module" src="/assets/app.js">');
      expect(html).not.toMatch(/https?:\/\//); // nothing from a CDN
      const js = await fetch(`${url}/assets/app.js`);
      expect([js.status, js.headers.get('content-type')]).toEqual([200, 'application/javascript; charset=utf-8']);
      expect((await js.text()).length).toBeGreaterThan(5_000);
      expect((await fetch(`${url}/api/cases`)).status).toBe(401);

      const session = await fetch(`${url}/api/session`);
      const loginCookie = session.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      const { csrfToken } = (await session.json()) as { csrfToken: string };
      const login = await fetch(`${url}/api/login`, {
        method: 'POST',
        headers: { cookie: loginCookie, 'content-type': 'application/json', 'x-csrf-token': csrfToken },
        body: JSON.stringify({ username: 'ops', password: 'pw' }),
      });
      expect(login.status).toBe(200);
      const setCookie = login.headers.getSetCookie().find((c) => c.startsWith('ss_session='))!;
      expect(setCookie).toMatch(/HttpOnly/);
      expect(setCookie).toMatch(/SameSite=Strict/);
      const cases = await fetch(`${url}/api/cases`, { headers: { cookie: setCookie.split(';')[0]! } });
      expect([cases.status, await cases.json()]).toEqual([200, { cards: [] }]);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
