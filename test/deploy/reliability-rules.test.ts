import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The reliability alerts (outbox, leases, sources given up), checked and unit-tested by Debian's
// promtool (package `prometheus`, which .ci/run installs). Without it they are skipped, saying why.
const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';
const havePromtool = existsSync(PROMTOOL);
if (!havePromtool)
  console.warn(`SKIPPED: promtool not found at ${PROMTOOL} (apt-get install prometheus); the reliability rule tests did not run`);

const DIR = fileURLToPath(new URL('../../deploy/prometheus/reliability/', import.meta.url));
const RULES = `${DIR}streamscreen-reliability.rules.yml`;
const TESTS = `${DIR}tests/reliability.rules.test.yml`;
const run = promisify(execFile);

async function promtool(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { timeout: 60_000 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const alerts = (): string[] => [...readFileSync(RULES, 'utf8').matchAll(/^\s+- alert: (\w+)$/gm)].map((m) => m[1]!);

describe.skipIf(!havePromtool)('reliability alert rules (promtool)', () => {
  it('are a valid rule file and pass their unit tests', async () => {
    const check = await promtool('check', 'rules', RULES);
    expect(check.code, check.out).toBe(0);
    const test = await promtool('test', 'rules', TESTS);
    expect(test.code, test.out).toBe(0);
  });

  it('every alert has a case that fires, and a runbook entry in the README', () => {
    const tests = readFileSync(TESTS, 'utf8');
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8').toLowerCase();
    for (const name of alerts()) {
      expect(tests, name).toMatch(new RegExp(`alertname: ${name}\\n\\s+exp_alerts:\\n\\s+- exp_labels`));
      expect(readme, `README runbook for ${name}`).toContain(`#### ${name.toLowerCase()}`);
    }
    expect(alerts().length).toBeGreaterThanOrEqual(7);
  });
});
