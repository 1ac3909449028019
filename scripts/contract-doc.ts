import { readFile } from 'node:fs/promises';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { stringify } from 'yaml';
import { buildAsyncApiDocument } from '../src/contracts/asyncapi.js';

const HEADER = '# Generated from src/contracts/ by `npm run contract`. Do not edit: change the zod schemas instead.\n';

/** The document as committed: YAML with a header, deterministic for a given package version. */
export async function renderAsyncApi(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return HEADER + stringify(buildAsyncApiDocument(pkg.version), { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Error-severity diagnostics of @asyncapi/parser , formatted one per line; empty when valid. */
export async function validateAsyncApi(text: string): Promise<string[]> {
  const diagnostics = await new Parser().validate(text);
  return diagnostics
    .filter((d) => (d.severity as number) === (DiagnosticSeverity.Error as number))
    .map((d) => `${d.path.join('.')}: ${d.message}`);
}
