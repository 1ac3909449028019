/**
 * `npm run contract`: writes docs/asyncapi.yaml from src/contracts/ and validates it with the
 * AsyncAPI parser. `--check` writes nothing and fails when the committed file is out of date.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderAsyncApi, validateAsyncApi } from './contract-doc.js';

const target = fileURLToPath(new URL('../docs/asyncapi.yaml', import.meta.url));
const check = process.argv.includes('--check');

const text = await renderAsyncApi();
const problems = await validateAsyncApi(text);
if (problems.length > 0) {
  console.error(`docs/asyncapi.yaml would not validate:\n${problems.join('\n')}`);
  process.exit(1);
}
if (check) {
  const current = await readFile(target, 'utf8').catch(() => '');
  if (current !== text) {
    console.error('docs/asyncapi.yaml is out of date: run npm run contract');
    process.exit(1);
  }
  console.log('docs/asyncapi.yaml is up to date and valid');
} else {
  await writeFile(target, text);
  console.log(`wrote ${target}`);
}
