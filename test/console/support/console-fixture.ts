import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { bundleConsoleUi } from '../../../tools/console-ui/bundle.js';
import { loadConfig, type ConfigInput } from '../../../src/config/index.js';
import { subjectFor, SUBJECTS, type CaseEvent, type EvidenceFrame } from '../../../src/contracts/index.js';
import { hashPassword } from '../../../src/console/auth/passwords.js';
import { startConsole, type ConsoleHandle } from '../../../src/console/start-console.js';
import { sealEvidence } from '../../../src/domain/evidence-envelope.js';
import { putVerified } from '../../../src/nats/index.js';
import { evidenceRef } from '../../support/case-events.js';
import { startNatsServer, type NatsServerHandle } from '../../support/nats-server.js';
import { syntheticFrame } from './synthetic-images.js';

/**
 * One real nats-server, the console started the way `streamscreen console` starts it, and
 * headless Chromium from Debian. The test plays the worker of issue 10: it publishes case events
 * and stores evidence exactly as the contracts in src/contracts/ say.
 */
export const PASSWORD = 'correct horse battery staple';
export const EVIDENCE_BUCKET = 'screening-evidence';
export const KEY_ID = 'test-key';

export interface ConsoleFixture {
  readonly nats: NatsServerHandle;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly browser: Browser;
  readonly console: ConsoleHandle;
  readonly assetsDir: string;
  /** Starts another console on the same NATS (e.g. with a short claim TTL). */
  startConsole(overrides: ConfigInput['console']): Promise<ConsoleHandle>;
  publishCase(event: CaseEvent): Promise<void>;
  /** Stores a storyboard of `n` synthetic frames (reviewer copy and preserved original, encrypted). */
  storyboard(caseId: string, n: number): Promise<EvidenceFrame[]>;
  /** A browser context signed in as `user` (through the login form). */
  signIn(user: string): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

const key = randomBytes(32);

export async function startConsoleFixture(): Promise<ConsoleFixture> {
  const nats = await startNatsServer();
  const nc = await nats.connect();
  const js = jetstream(nc);
  const assetsDir = await bundleConsoleUi(await mkdtemp(join(tmpdir(), 'streamscreen-console-ui-')));
  // Cheap scrypt parameters: the tests log in often; production hashes use the default cost.
  const passwordHash = await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1 });
  const accounts = [
    { id: 'alice', name: 'Alice', passwordHash, roles: ['reviewer'], wellness: { greyscaleRevealed: false } },
    { id: 'bob', name: 'Bob', passwordHash, roles: ['reviewer'] },
    { id: 'carol', name: 'Carol', passwordHash, roles: ['reviewer'], wellness: { exposureBudget: 1 } },
    { id: 'lena', name: 'Lena (lead)', passwordHash, roles: ['lead'] },
  ];
  const cwd = await mkdtemp(join(tmpdir(), 'streamscreen-console-cwd-'));
  const configFor = (overrides: ConfigInput['console'] = {}) =>
    loadConfig({
      env: {},
      cwd,
      overrides: {
        nats: { url: nats.url },
        evidence: { keys: { [KEY_ID]: key.toString('base64') } },
        console: {
          host: '127.0.0.1',
          port: 0,
          sessionSecret: randomBytes(32).toString('hex'),
          secureCookies: false,
          // The suite signs the same accounts in many times a minute; the rate limit has its own test.
          login: { maxAttempts: 1000 },
          accounts,
          ...overrides,
        },
        log: { level: 'silent' },
      },
    });
  const logger = pino({ level: process.env.CONSOLE_LOG ?? 'silent' });
  const extra: ConsoleHandle[] = [];
  const main = await startConsole(configFor(), logger, { assetsDir });
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' });
  const objm = new Objm(js);
  const store = await objm.create(EVIDENCE_BUCKET);

  return {
    nats,
    nc,
    js,
    browser,
    console: main,
    assetsDir,
    startConsole: async (overrides) => {
      const h = await startConsole(configFor(overrides), logger, { assetsDir });
      extra.push(h);
      return h;
    },
    publishCase: async (event) => {
      const prefix =
        event.type === 'case_opened' ? SUBJECTS.caseOpened : event.type === 'case_updated' ? SUBJECTS.caseUpdated : SUBJECTS.caseClosed;
      await js.publish(subjectFor(prefix, event.streamId), JSON.stringify(event), { msgID: event.eventId });
    },
    storyboard: async (caseId, n) => {
      const frames: EvidenceFrame[] = [];
      for (let seq = 0; seq < n; seq++) {
        const image = await syntheticFrame(seq);
        const reviewerName = `${caseId}/${seq}/reviewer.jpg.enc`;
        const originalName = `${caseId}/${seq}/original.jpg.enc`;
        await putVerified(store, reviewerName, sealEvidence(image, { id: KEY_ID, key }));
        await putVerified(store, originalName, sealEvidence(image, { id: KEY_ID, key }));
        frames.push({
          seq,
          capturedAt: new Date(Date.now() - (n - seq) * 1000).toISOString(),
          decisive: seq === n - 1,
          renditions: [
            evidenceRef(image, { bucket: EVIDENCE_BUCKET, name: reviewerName, rendition: 'reviewer', keyId: KEY_ID }),
            evidenceRef(image, { bucket: EVIDENCE_BUCKET, name: originalName, rendition: 'original', keyId: KEY_ID, preserved: true }),
          ],
        });
      }
      return frames;
    },
    signIn: async (user) => signIn(browser, main.url, user),
    close: async () => {
      await browser.close();
      for (const h of extra) await h.stop();
      await main.stop();
      await nc.close();
      await nats.stop();
      await rm(assetsDir, { recursive: true, force: true });
      await rm(cwd, { recursive: true, force: true });
    },
  };
}

export async function signIn(browser: Browser, url: string, user: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  await page.goto(url);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Live', { exact: true }).waitFor();
  return { context, page };
}
