/**
 * README screenshots of the reviewer console, from the browser tests' own setup (a real
 * nats-server, the console, headless Chromium, synthetic benign evidence): `npx tsx
 * scripts/console-screenshots.ts` writes docs/img/console-queue.png and docs/img/console-case.png.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { startConsoleFixture } from '../test/console/support/console-fixture.js';
import { caseOpened } from '../test/support/case-events.js';

const OUT = fileURLToPath(new URL('../docs/img/', import.meta.url));

/** Palette PNG: a screenshot of flat UI colours loses nothing visible and shrinks several times. */
async function save(name: string, png: Buffer): Promise<void> {
  const small = await sharp(png).png({ palette: true, colours: 64, compressionLevel: 9 }).toBuffer();
  await writeFile(`${OUT}${name}`, small);
  console.log(`wrote docs/img/${name} (${Math.round(small.length / 1024)} KiB)`);
}

const f = await startConsoleFixture();
try {
  await mkdir(OUT, { recursive: true });
  const ago = (s: number) => new Date(Date.now() - s * 1000);
  const storyboard = await f.storyboard('case-7f3a', 4);
  await f.publishCase(
    caseOpened({
      caseId: 'case-7f3a',
      streamId: 'ch-48213',
      priority: 'critical',
      openedAt: ago(40),
      scores: [0.31, 0.44, 0.52, 0.61, 0.58, 0.72, 0.81, 0.86],
      storyboard,
      metadata: { channel: 'synthetic test pattern', title: 'Demo stream (generated frames)', region: 'eu-west' },
    }),
  );
  await f.publishCase(
    caseOpened({
      caseId: 'case-19c0',
      streamId: 'ch-10077',
      priority: 'critical',
      openedAt: ago(150),
      killSwitch: true,
      metadata: { channel: 'synthetic test pattern', title: 'Generated bars' },
    }),
  );
  await f.publishCase(
    caseOpened({
      caseId: 'case-2b81',
      streamId: 'ch-33419',
      priority: 'high',
      openedAt: ago(200),
      scores: [0.55, 0.62, 0.6, 0.66],
      storyboard: await f.storyboard('case-2b81', 3),
    }),
  );
  await f.publishCase(
    caseOpened({ caseId: 'case-e402', streamId: 'ch-90211', priority: 'normal', openedAt: ago(600), scores: [0.51, 0.5] }),
  );

  const { page, context } = await f.signIn('alice');
  const card = page.locator('article[data-case-id="case-7f3a"]');
  await card.getByRole('button', { name: 'Claim', exact: true }).click();
  await card.getByText('You hold this case').waitFor();
  await card.getByRole('button', { name: /Frame 3 .* blurred/ }).click();
  await card.locator('img[data-state="revealed"]').waitFor();
  await card.getByRole('radio', { name: /Confirm/ }).check();
  await page.locator('img[data-state="blurred"]').last().waitFor();
  await page.waitForTimeout(500); // thumbnails decoded

  await save('console-queue.png', await page.screenshot({ fullPage: true }));
  await save('console-case.png', await card.screenshot());
  await context.close();
} finally {
  await f.close();
}
