import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReviewAck, ReviewDecision } from '../../src/contracts/index.js';
import { SUBJECTS, subjectFor } from '../../src/contracts/index.js';
import { caseClosed, caseOpened, caseUpdated } from '../support/case-events.js';
import { expectContract } from '../support/contract.js';
import { eventually } from '../support/eventually.js';
import { signIn, startConsoleFixture, type ConsoleFixture } from './support/console-fixture.js';
import { cookieHeader, csrfToken, postAs } from './support/http.js';
import { imageStats } from './support/synthetic-images.js';

// The console in real headless Chromium against a real nats-server. The test plays the worker of
// issue 10 (it publishes case events and acks, and stores evidence) exactly as src/contracts/
// defines them; everything between NATS and the browser is the console as it ships.

let f: ConsoleFixture;

beforeAll(async () => {
  f = await startConsoleFixture();
});

afterAll(async () => {
  await f?.close();
});

/** Runs in the page: the image has arrived and decoded. */
const loaded = (img: unknown): boolean => {
  const i = img as { complete: boolean; naturalWidth: number };
  return i.complete && i.naturalWidth > 0;
};

const card = (page: import('playwright-core').Page, caseId: string) => page.locator(`article[data-case-id="${caseId}"]`);

async function queueOrder(page: import('playwright-core').Page, ids: readonly string[]): Promise<string[]> {
  const all = await page.locator('article.card').evaluateAll((els) => els.map((e) => e.getAttribute('data-case-id') ?? ''));
  return all.filter((id) => ids.includes(id));
}

describe('reviewer console in Chromium', () => {
  it('shows a case the moment it is opened on NATS, most urgent first, with scores, kill-switch and a countdown', async () => {
    const { context, page } = await f.signIn('alice');
    try {
      await f.publishCase(caseOpened({ caseId: 'q-normal', streamId: 'q-s1', priority: 'normal' }));
      await f.publishCase(caseOpened({ caseId: 'q-high', streamId: 'q-s2', priority: 'high', scores: [0.5, 0.7, 0.9, 0.95] }));
      await card(page, 'q-high').waitFor();
      await card(page, 'q-normal').waitFor();
      expect(await queueOrder(page, ['q-normal', 'q-high'])).toEqual(['q-high', 'q-normal']);

      // A critical case with a kill-switch already fired goes to the top, marked as such.
      await f.publishCase(caseOpened({ caseId: 'q-crit', streamId: 'q-s3', priority: 'critical', killSwitch: true }));
      await card(page, 'q-crit').waitFor();
      expect(await queueOrder(page, ['q-normal', 'q-high', 'q-crit'])).toEqual(['q-crit', 'q-high', 'q-normal']);
      await expect(card(page, 'q-crit').getByTestId('killswitch').textContent()).resolves.toMatch(/kill-switch fired/);
      // Critical: 2 minutes from now, counting down.
      const deadline = await card(page, 'q-crit').getByTestId('deadline').textContent();
      expect(deadline).toMatch(/^review within (1:5\d|2:00)$/);
      expect(
        await card(page, 'q-high')
          .getByRole('img', { name: /nudity score: 4 frames, from 0\.50 to 0\.95, latest 0\.95/ })
          .count(),
      ).toBe(1);
      expect(await card(page, 'q-high').textContent()).toContain('synthetic test pattern');
      // Keyboard: the arrow keys move between cards in queue order.
      await card(page, 'q-crit').focus();
      await page.keyboard.press('ArrowDown');
      expect(await page.evaluate('document.activeElement.getAttribute("data-case-id")')).toBe('q-high');

      // An update raising the normal case to critical moves it above the high one (its deadline runs from the raise).
      await f.publishCase(caseUpdated({ caseId: 'q-normal', streamId: 'q-s1', priority: 'critical' }, 2, ['priority_raised']));
      await eventually(
        async () => (await queueOrder(page, ['q-normal', 'q-high', 'q-crit'])).join() === 'q-crit,q-normal,q-high',
        5_000,
        'the raised case to move up',
      );
      // A stale revision changes nothing; a close shows as closed.
      await f.publishCase(caseOpened({ caseId: 'q-normal', streamId: 'q-s1', priority: 'normal' }));
      await f.publishCase(caseClosed({ caseId: 'q-high', streamId: 'q-s2' }, 2, { cause: 'stream_ended', at: new Date().toISOString() }));
      await card(page, 'q-high').getByText('closed: stream_ended').waitFor();
      await expect(card(page, 'q-normal').locator('.badge.critical').count()).resolves.toBe(1);
    } finally {
      await context.close();
    }
  });

  it('keeps evidence blurred and greyscale until one frame is clicked; hover never unblurs', async () => {
    const storyboard = await f.storyboard('blur-1', 2);
    await f.publishCase(caseOpened({ caseId: 'blur-1', streamId: 'blur-s1', storyboard }));
    const { context, page } = await f.signIn('alice');
    try {
      const c = card(page, 'blur-1');
      const frame0 = c.locator('figure').nth(0);
      const thumb = frame0.locator('img[data-state="blurred"]');
      await eventually(() => thumb.evaluate(loaded), 5_000, 'the thumbnail');
      const blurred = await imageStats(await thumb.screenshot());

      // Hovering is not a deliberate act: nothing changes.
      await thumb.hover();
      await page.waitForTimeout(300);
      expect(await frame0.locator('img[data-state="revealed"]').count()).toBe(0);
      expect((await imageStats(await thumb.screenshot())).edge).toBeCloseTo(blurred.edge, 0);

      // Before claiming, a click reveals nothing and spends nothing.
      await frame0.getByRole('button', { name: /Frame 0 .* blurred/ }).click();
      await c.getByText('Claim the case before unblurring its evidence.').waitFor();
      await c.getByRole('button', { name: 'Claim', exact: true }).click();
      await c.getByText('You hold this case').waitFor();

      // Enter on the focused frame is the same deliberate act as a click.
      await frame0.getByRole('button', { name: /Frame 0 .* blurred/ }).focus();
      await page.keyboard.press('Enter');
      const revealed = frame0.locator('img[data-state="revealed"]');
      await revealed.waitFor();
      await eventually(() => revealed.evaluate(loaded), 5_000, 'the revealed frame');
      const clear = await imageStats(await revealed.screenshot());

      // Blurred: greyscale and without the checkerboard's edges; revealed: its edges and (Alice's own setting) its colours.
      expect(blurred.chroma).toBeLessThan(3);
      expect(clear.edge).toBeGreaterThan(4 * blurred.edge);
      expect(clear.chroma).toBeGreaterThan(40);
      // Only the clicked frame: the other stays blurred.
      expect(await c.locator('figure').nth(1).locator('img[data-state="blurred"]').count()).toBe(1);
      await page.getByTestId('exposure').getByText('39 of 40 unblurred views left').waitFor();
    } finally {
      await context.close();
    }
  });

  it("a confirm goes out on screening.review.<streamId> with Nats-Msg-Id = decision id, and the card shows the worker's ack", async () => {
    await f.publishCase(caseOpened({ caseId: 'conf-1', streamId: 'conf-s1', priority: 'critical' }));
    const consumer = await f.js.consumers.get('SCREENING_REVIEW', { filter_subjects: subjectFor(SUBJECTS.reviewDecision, 'conf-s1') });
    const { context, page } = await f.signIn('alice');
    try {
      const c = card(page, 'conf-1');
      await c.getByRole('button', { name: 'Claim', exact: true }).click();
      await c.getByRole('radio', { name: /Confirm/ }).check();
      await c.getByLabel('Note (optional, audited)').fill('synthetic test: confirmed');
      await c.getByRole('button', { name: 'Submit decision' }).click();

      const m = await consumer.next({ expires: 5_000 });
      expect(m, 'a review decision on NATS').not.toBeNull();
      const decision = m!.json<ReviewDecision>();
      expectContract(m!.subject, decision);
      expect(decision).toMatchObject({
        decision: 'confirm',
        caseId: 'conf-1',
        streamId: 'conf-s1',
        reviewer: 'alice',
        note: 'synthetic test: confirmed',
        source: 'console',
      });
      expect(m!.headers?.get('Nats-Msg-Id')).toBe(decision.decisionId);
      await c.getByTestId('decision').getByText('waiting for the worker to acknowledge').waitFor();

      // Issue 10's worker turns the confirm into a kill-switch and acks; here the test plays it.
      const ack: ReviewAck = {
        schemaVersion: 1,
        type: 'review_ack',
        eventId: `ack-${decision.decisionId}`,
        decisionId: decision.decisionId,
        caseId: 'conf-1',
        streamId: 'conf-s1',
        decision: 'confirm',
        reviewer: 'alice',
        result: 'applied',
        caseState: { state: 'closed', killSwitchEventId: 'ks-conf-s1' },
        at: new Date().toISOString(),
        workerId: 'test-worker',
      };
      expectContract(subjectFor(SUBJECTS.reviewAck, 'conf-s1'), ack);
      await f.js.publish(subjectFor(SUBJECTS.reviewAck, 'conf-s1'), JSON.stringify(ack), { msgID: ack.eventId });
      await f.publishCase(
        caseClosed({ caseId: 'conf-1', streamId: 'conf-s1', priority: 'critical' }, 2, {
          cause: 'review',
          at: new Date().toISOString(),
          decisionId: decision.decisionId,
          reviewer: 'alice',
          resolution: 'confirmed',
        }),
      );
      await c.locator('[data-acked="applied"]').getByText('acknowledged: applied, case closed, kill-switch ks-conf-s1').waitFor();
      await c.getByText('closed: confirmed').waitFor();
    } finally {
      await context.close();
    }
  });

  it('two reviewers cannot hold the same case; the holder is visible to the other', async () => {
    await f.publishCase(caseOpened({ caseId: 'claim-1', streamId: 'claim-s1' }));
    await f.publishCase(caseOpened({ caseId: 'claim-2', streamId: 'claim-s2' }));
    const alice = await f.signIn('alice');
    const bob = await f.signIn('bob');
    try {
      await card(alice.page, 'claim-1').getByRole('button', { name: 'Claim', exact: true }).click();
      await card(alice.page, 'claim-1').getByText('You hold this case').waitFor();
      // Bob's queue shows Alice as the holder, live, and offers no claim.
      await card(bob.page, 'claim-1').getByText('Claimed by Alice').waitFor();
      expect(await card(bob.page, 'claim-1').getByRole('button', { name: 'Claim', exact: true }).count()).toBe(0);
      // The server refuses Bob whatever his page shows: claim, decision and unblur.
      expect((await postAs(f.console.url, bob.context, '/api/cases/claim-1/claim')).status).toBe(409);
      expect((await postAs(f.console.url, bob.context, '/api/cases/claim-1/decision', { decision: 'dismiss' })).json.error).toBe(
        'claimed_by_other',
      );

      // Both at the same instant: exactly one wins (compare-and-swap in KV).
      const results = await Promise.all([
        postAs(f.console.url, alice.context, '/api/cases/claim-2/claim'),
        postAs(f.console.url, bob.context, '/api/cases/claim-2/claim'),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    } finally {
      await alice.context.close();
      await bob.context.close();
    }
  });

  it('an expired claim returns the case to the queue', async () => {
    const short = await f.startConsole({ claimTtlMs: 2_000, buckets: { claims: 'short-claims', exposure: 'short-exposure' } });
    await f.publishCase(caseOpened({ caseId: 'exp-1', streamId: 'exp-s1' }));
    const alice = await signIn(f.browser, short.url, 'alice');
    const bob = await signIn(f.browser, short.url, 'bob');
    try {
      await card(alice.page, 'exp-1').getByRole('button', { name: 'Claim', exact: true }).click();
      await card(bob.page, 'exp-1').getByText('Claimed by Alice').waitFor();
      // Nobody renews it: after its TTL the case is unclaimed again, on both screens, and claimable.
      await card(bob.page, 'exp-1').getByText('Unclaimed').waitFor({ timeout: 6_000 });
      await card(alice.page, 'exp-1').getByText('Unclaimed').waitFor({ timeout: 2_000 });
      expect((await postAs(short.url, bob.context, '/api/cases/exp-1/claim')).status).toBe(200);
    } finally {
      await alice.context.close();
      await bob.context.close();
    }
  });

  it('the exposure budget blocks the next unblur on the server, until a lead lifts it', async () => {
    const storyboard = await f.storyboard('budget-1', 2);
    await f.publishCase(caseOpened({ caseId: 'budget-1', streamId: 'budget-s1', storyboard }));
    const carol = await f.signIn('carol'); // budget: 1 unblurred view per shift
    const lena = await f.signIn('lena');
    try {
      const c = card(carol.page, 'budget-1');
      await c.getByRole('button', { name: 'Claim', exact: true }).click();
      await c.getByText('You hold this case').waitFor();
      await c.getByRole('button', { name: /Frame 0 .* blurred/ }).click();
      await c.locator('figure').nth(0).locator('img[data-state="revealed"]').waitFor();
      await carol.page.getByTestId('exposure').getByText('no unblurred views left').waitFor();

      await c.getByRole('button', { name: /Frame 1 .* blurred/ }).click();
      await c.getByText(/unblurred views for this shift spent \(1 of 1\)/).waitFor();
      expect(await c.locator('figure').nth(1).locator('img[data-state="revealed"]').count()).toBe(0);
      // Not a front-end rule: the server refuses the bytes.
      const refused = await postAs(f.console.url, carol.context, '/api/cases/budget-1/frames/1/reveal');
      expect(refused).toMatchObject({ status: 403, json: { error: 'exposure_budget_spent' } });

      // A reviewer cannot lift their own block; a lead can.
      expect((await postAs(f.console.url, carol.context, '/api/exposure/lift', { reviewer: 'carol' })).status).toBe(403);
      expect((await postAs(f.console.url, lena.context, '/api/exposure/lift', { reviewer: 'carol' })).status).toBe(200);
      await c.getByRole('button', { name: /Frame 1 .* blurred/ }).click();
      await c.locator('figure').nth(1).locator('img[data-state="revealed"]').waitFor();
    } finally {
      await carol.context.close();
      await lena.context.close();
    }
  });

  it("a preserved original needs the warning screen and a reason, and the lead's audit view shows who viewed it and who decided", async () => {
    const storyboard = await f.storyboard('orig-1', 1);
    await f.publishCase(caseOpened({ caseId: 'orig-1', streamId: 'orig-s1', storyboard }));
    const alice = await f.signIn('alice');
    try {
      const c = card(alice.page, 'orig-1');
      await c.getByRole('button', { name: 'Claim', exact: true }).click();
      await c.getByText('You hold this case').waitFor();
      await c.getByRole('button', { name: 'preserved original…' }).click();
      const dialog = c.getByRole('dialog', { name: 'Preserved original' });
      await dialog.getByText(/may be distressing/).waitFor();
      expect(await dialog.getByRole('button', { name: 'Show the original' }).isDisabled()).toBe(true);
      await dialog.getByLabel('Reason (required)').fill('checking before the NCMEC report');
      await dialog.getByRole('button', { name: 'Show the original' }).click();
      await c.locator('img[data-state="revealed"]').waitFor();
      await c.getByRole('radio', { name: /Dismiss/ }).check();
      await c.getByRole('button', { name: 'Submit decision' }).click();
      await c.getByTestId('decision').waitFor();
    } finally {
      await alice.context.close();
    }

    const bob = await f.signIn('bob');
    expect((await bob.page.request.get(`${f.console.url}/api/audit`)).status()).toBe(403);
    expect(await bob.page.getByRole('button', { name: 'Audit' }).count()).toBe(0);
    await bob.context.close();

    const lena = await f.signIn('lena');
    try {
      await lena.page.getByRole('button', { name: 'Audit' }).click();
      const viewed = lena.page.locator('tr[data-action="original_viewed"]', { hasText: 'orig-1' });
      await viewed.waitFor();
      expect(await viewed.textContent()).toMatch(
        /alice.*original viewed.*orig-1.*orig-s1.*original screening-evidence\/orig-1\/0\/original.*checking before the NCMEC report/,
      );
      const decided = lena.page.locator('tr[data-action="decision_submitted"]', { hasText: 'orig-1' });
      expect(await decided.textContent()).toMatch(/alice.*decision submitted.*orig-1.*dismiss/);
    } finally {
      await lena.context.close();
    }
  });

  it('gives no evidence to a request without a session, and never lets evidence be cached', async () => {
    const storyboard = await f.storyboard('nostore-1', 1);
    await f.publishCase(caseOpened({ caseId: 'nostore-1', streamId: 'nostore-s1', storyboard }));
    const path = '/api/cases/nostore-1/frames/0/thumbnail';
    const anonymous = await fetch(`${f.console.url}${path}`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toMatch(/json/);

    const { context, page } = await f.signIn('bob');
    await card(page, 'nostore-1').waitFor();
    const signedIn = await page.request.get(`${f.console.url}${path}`);
    expect(signedIn.status()).toBe(200);
    expect(signedIn.headers()['content-type']).toBe('image/jpeg');
    expect(signedIn.headers()['cache-control']).toMatch(/no-store/);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Username').waitFor();
    expect((await page.request.get(`${f.console.url}${path}`)).status()).toBe(401);
    await context.close();
  });

  it('refuses a state-changing request without the CSRF token, with a wrong one, cross-site, or as a form post', async () => {
    await f.publishCase(caseOpened({ caseId: 'csrf-1', streamId: 'csrf-s1' }));
    const { context } = await f.signIn('bob');
    try {
      const cookie = await cookieHeader(context);
      const token = await csrfToken(f.console.url, cookie);
      const url = `${f.console.url}/api/cases/csrf-1/claim`;
      const json = { cookie, 'content-type': 'application/json' };
      const attempts: Array<[string, Record<string, string>]> = [
        ['no token', json],
        ['wrong token', { ...json, 'x-csrf-token': `${token.slice(0, -2)}xx` }],
        ['another site', { ...json, 'x-csrf-token': token, origin: 'http://attacker.example' }],
        ['cross-site fetch', { ...json, 'x-csrf-token': token, 'sec-fetch-site': 'cross-site' }],
        ['form post', { cookie, 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': token }],
      ];
      for (const [what, headers] of attempts) {
        const res = await fetch(url, { method: 'POST', headers, body: what === 'form post' ? 'a=1' : '{}' });
        expect({ what, status: res.status, body: await res.json() }).toMatchObject({ what, status: 403, body: { error: 'csrf' } });
      }
      // A login without the pre-session token is refused too.
      const login = await fetch(`${f.console.url}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'bob', password: 'x' }),
      });
      expect(login.status).toBe(403);
      // Nothing was claimed; the same request with the token and JSON goes through (the checks are not vacuous).
      const ok = await fetch(url, { method: 'POST', headers: { ...json, 'x-csrf-token': token }, body: '{}' });
      expect(ok.status).toBe(200);
    } finally {
      await context.close();
    }
  });

  it('login: wrong passwords refused and attempts rate-limited; a proxy identity header only when enabled and from the proxy', async () => {
    const proxied = await f.startConsole({
      login: { maxAttempts: 3, windowMs: 60_000 },
      trustedHeader: { enabled: true, proxies: ['127.0.0.1', '::1'] },
      buckets: { claims: 'proxied-claims', exposure: 'proxied-exposure' },
    });
    const session = await fetch(`${proxied.url}/api/session`);
    const cookie = (session.headers.getSetCookie() ?? []).map((c) => c.split(';')[0]).join('; ');
    const { csrfToken: loginToken } = (await session.json()) as { csrfToken: string };
    const attempt = () =>
      fetch(`${proxied.url}/api/login`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', 'x-csrf-token': loginToken },
        body: JSON.stringify({ username: 'alice', password: 'wrong password' }),
      }).then((r) => r.status);
    expect([await attempt(), await attempt(), await attempt(), await attempt()]).toEqual([401, 401, 401, 429]);

    const asserted = { 'x-forwarded-user': 'pat@example.org', 'x-forwarded-groups': 'lead' };
    const viaProxy = (await (await fetch(`${proxied.url}/api/session`, { headers: asserted })).json()) as Record<string, unknown>;
    expect(viaProxy).toMatchObject({ authenticated: true, user: { id: 'pat@example.org', roles: ['lead'], via: 'proxy' } });
    // The main console has the header switched off (the default): the same request is anonymous.
    const ignored = (await (await fetch(`${f.console.url}/api/session`, { headers: asserted })).json()) as Record<string, unknown>;
    expect(ignored.authenticated).toBe(false);
  });
});
