/**
 * `{field}` templates for the bridge's pull URLs (`rtmp://nginx-1.internal:1935/{app}/{name}`)
 * and stream ids (`{ingest}-{app}-{nameHash}`). Checked once when the configuration loads, so a
 * typo in a placeholder is a config error, not a stream that can never be screened.
 */

/** What a publish hook tells us; `arg.<name>` reads one of the publisher's own query arguments. */
export const TEMPLATE_FIELDS = ['ingest', 'app', 'name', 'nameHash', 'vhost', 'clientId', 'connectionId', 'protocol'] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];

export interface TemplateValues {
  readonly fields: Partial<Record<TemplateField, string>>;
  readonly args?: Readonly<Record<string, string>>;
}

type Part = { readonly text: string } | { readonly field: TemplateField } | { readonly arg: string };

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** The problems with a template (unknown placeholders, stray braces); empty when it is usable. */
export function templateIssues(template: string): string[] {
  const issues: string[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    const name = m[1]!;
    if (!isField(name) && !/^arg\.[A-Za-z0-9_.-]{1,64}$/.test(name)) {
      issues.push(`unknown placeholder {${name}} (known: ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(' ')} {arg.NAME})`);
    }
  }
  if (/[{}]/.test(template.replace(PLACEHOLDER, ''))) issues.push('unbalanced { or }');
  return issues;
}

/** The fields a template uses, e.g. to require that a stream id differs per stream. */
export function templateFields(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

export type Rendered = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly missing: string[] };

/**
 * Fills the placeholders, passing each value through `encode`. A placeholder the hook gave no
 * value for is reported rather than rendered empty (`rtmp://host/live/` would pull the wrong
 * stream); an empty value given on purpose (MediaMTX has no app) renders empty.
 */
export function renderTemplate(template: string, values: TemplateValues, encode: (v: string) => string): Rendered {
  const missing: string[] = [];
  const out = parse(template)
    .map((p) => {
      if ('text' in p) return p.text;
      const v = 'field' in p ? values.fields[p.field] : values.args?.[p.arg];
      if (v === undefined) {
        missing.push('field' in p ? p.field : `arg.${p.arg}`);
        return '';
      }
      return encode(v);
    })
    .join('');
  return missing.length ? { ok: false, missing } : { ok: true, value: out };
}

/** For URLs: each value percent-encoded, except `/` (MediaMTX paths and nested apps keep their segments). */
export function encodeUrlValue(v: string): string {
  return encodeURIComponent(v).replace(/%2F/gi, '/');
}

/** For stream ids (NATS subject tokens, KV keys): anything outside A-Z a-z 0-9 _ - becomes `_`. */
export function encodeIdValue(v: string): string {
  return v.replace(/[^A-Za-z0-9_-]/g, '_');
}

function parse(template: string): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push({ text: template.slice(last, m.index) });
    const name = m[1]!;
    parts.push(isField(name) ? { field: name } : { arg: name.slice('arg.'.length) });
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push({ text: template.slice(last) });
  return parts;
}

function isField(name: string): name is TemplateField {
  return (TEMPLATE_FIELDS as readonly string[]).includes(name);
}
