/**
 * The on-call kit as data: every PromQL expression of the Grafana dashboard and the Prometheus
 * rules, and the metric names they read. Used to hold the kit to what the worker exports.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const KIT_DIR = fileURLToPath(new URL('../../deploy/', import.meta.url));
export const PROMETHEUS_DIR = `${KIT_DIR}prometheus/`;
export const GRAFANA_DIR = `${KIT_DIR}grafana/`;

export interface KitQuery {
  /** Where it is: `dashboard <file>: <panel title>` or `rule <file>: <record or alert name>`. */
  readonly where: string;
  readonly expr: string;
}

export interface RuleFile {
  readonly groups: {
    readonly name: string;
    readonly rules: { readonly record?: string; readonly alert?: string; readonly expr: string }[];
  }[];
}

export const ruleFiles = (): string[] => readdirSync(PROMETHEUS_DIR).filter((f) => f.endsWith('.rules.yml'));
export const dashboardFiles = (): string[] => readdirSync(GRAFANA_DIR).filter((f) => f.endsWith('.json'));

export function readRules(file: string): RuleFile {
  return parse(readFileSync(PROMETHEUS_DIR + file, 'utf8')) as RuleFile;
}

interface Panel {
  readonly title?: string;
  readonly targets?: { readonly expr?: string }[];
  readonly panels?: Panel[];
}

export function dashboardQueries(): KitQuery[] {
  const out: KitQuery[] = [];
  for (const file of dashboardFiles()) {
    const dash = JSON.parse(readFileSync(GRAFANA_DIR + file, 'utf8')) as { panels: Panel[] };
    const walk = (panels: readonly Panel[]): void => {
      for (const p of panels) {
        for (const t of p.targets ?? []) if (t.expr) out.push({ where: `dashboard ${file}: ${p.title ?? '?'}`, expr: t.expr });
        walk(p.panels ?? []);
      }
    };
    walk(dash.panels);
  }
  return out;
}

export function ruleQueries(): KitQuery[] {
  return ruleFiles().flatMap((file) =>
    readRules(file).groups.flatMap((g) => g.rules.map((r) => ({ where: `rule ${file}: ${r.record ?? r.alert ?? '?'}`, expr: r.expr }))),
  );
}

/** Series names the recording rules produce. */
export function recordedNames(): Set<string> {
  return new Set(ruleFiles().flatMap((f) => readRules(f).groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : [])))));
}

/** Grafana's template variables replaced by values Prometheus accepts, for checking queries outside Grafana. */
export function withoutGrafanaVariables(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5m').replaceAll('$job', '.*');
}

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression reads: identifiers left once strings, label matchers,
 * ranges and grouping label lists are removed, other than functions and keywords.
 */
export function metricNames(expr: string): Set<string> {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const id = m[1]!;
    // Followed by a parenthesis: a function (sum, rate, histogram_quantile...).
    if (m[2] === undefined && !KEYWORDS.has(id.toLowerCase())) names.add(id);
  }
  return names;
}
