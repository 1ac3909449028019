import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { dashboardQueries, PROMETHEUS_DIR, readRules, ruleFiles, withoutGrafanaVariables } from '../support/operator-kit.js';

// The alert and recording rules, checked and unit-tested by Debian's promtool (package
// `prometheus`, which .ci/run installs). Without it these tests are skipped, saying why.
const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';
const havePromtool = existsSync(PROMTOOL);
if (!havePromtool) console.warn(`SKIPPED: promtool not found at ${PROMTOOL} (apt-get install prometheus); the rule tests did not run`);

const run = promisify(execFile);
const TEST_FILE = join(PROMETHEUS_DIR, 'tests', 'streamscreen.rules.test.yml');

interface AlertTest {
  readonly alertname: string;
  readonly exp_alerts?: unknown[];
}
interface RuleTests {
  readonly rule_files: string[];
  readonly tests: { readonly name: string; readonly alert_rule_test?: AlertTest[] }[];
}

async function promtool(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { timeout: 60_000 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const alertNames = (): string[] =>
  ruleFiles().flatMap((f) => readRules(f).groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : []))));

describe.skipIf(!havePromtool)('Prometheus rules (promtool)', () => {
  it('are valid rule files', async () => {
    const r = await promtool('check', 'rules', ...ruleFiles().map((f) => join(PROMETHEUS_DIR, f)));
    expect(r.out).not.toMatch(/FAILED/);
    expect(r.code, r.out).toBe(0);
  });

  it('pass their unit tests: series that fire and series that do not', async () => {
    const r = await promtool('test', 'rules', TEST_FILE);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/SUCCESS/);
  });

  it('test every alert both firing and not firing', () => {
    const tests = parse(readFileSync(TEST_FILE, 'utf8')) as RuleTests;
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const alert of alertNames()) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => (c.exp_alerts?.length ?? 0) > 0),
        `${alert} has no case where it fires`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts?.length ?? 0) === 0),
        `${alert} has no case where it must stay quiet`,
      ).toBe(true);
    }
    // Every rule file is under test.
    expect(tests.rule_files.map((f) => f.replace('../', '')).sort()).toEqual(ruleFiles().sort());
  });

  it('fail when a threshold drifts: a rule made laxer is caught by the tests', async () => {
    // Mutation check of the tests themselves: with the starts-waiting threshold at an hour, the
    // case that must page no longer does, and promtool says so.
    const dir = mkdtempSync(join(tmpdir(), 'streamscreen-rules-'));
    mkdirSync(join(dir, 'tests'));
    for (const f of ruleFiles()) copyFileSync(join(PROMETHEUS_DIR, f), join(dir, f));
    copyFileSync(TEST_FILE, join(dir, 'tests', 'streamscreen.rules.test.yml'));
    const alerts = readFileSync(join(dir, 'streamscreen-alerts.rules.yml'), 'utf8');
    const laxer = alerts.replace(
      'job:streamscreen_starts_oldest_waiting_seconds:max > 30',
      'job:streamscreen_starts_oldest_waiting_seconds:max > 3600',
    );
    expect(laxer).not.toBe(alerts);
    writeFileSync(join(dir, 'streamscreen-alerts.rules.yml'), laxer);
    const r = await promtool('test', 'rules', join(dir, 'tests', 'streamscreen.rules.test.yml'));
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/StreamscreenStartsWaiting/);
  });

  it('link every alert to a runbook entry that exists in the README', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const anchors = new Set(
      [...readme.matchAll(/^#+\s+(.+)$/gm)].map((m) =>
        m[1]!
          .trim()
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const file of ruleFiles()) {
      for (const rule of readRules(file).groups.flatMap((g) => g.rules)) {
        if (!rule.alert) continue;
        const runbook = (rule as { annotations?: { runbook?: string } }).annotations?.runbook ?? '';
        expect(runbook, rule.alert).toBe(`README.md#${rule.alert.toLowerCase()}`);
        expect(anchors.has(rule.alert.toLowerCase()), `README has no heading for ${rule.alert}`).toBe(true);
      }
    }
  });

  it("accepts every dashboard query as PromQL (Grafana's variables filled in)", async () => {
    // promtool parses queries only inside rule files: each panel query becomes a recording rule.
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(20);
    const dir = mkdtempSync(join(tmpdir(), 'streamscreen-dash-'));
    const file = join(dir, 'dashboard-queries.rules.yml');
    const rules = queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: withoutGrafanaVariables(q.expr) }));
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
    const r = await promtool('check', 'rules', file);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`SUCCESS: ${queries.length} rules found`);
  });
});
