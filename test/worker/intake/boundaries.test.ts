import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const src = new URL('../../../src/', import.meta.url);

/** Relative imports of each stage file that leave the stage for anything but domain/, contracts/ and config/ (its options). */
async function crossStageImports(stage: string): Promise<string[]> {
  const out: string[] = [];
  for (const file of await readdir(new URL(`${stage}/`, src))) {
    if (!file.endsWith('.ts')) continue;
    const text = await readFile(new URL(`${stage}/${file}`, src), 'utf8');
    for (const m of text.matchAll(/from\s+'(\.\.\/[^']+)'/g)) {
      if (!/^\.\.\/\.\.\/(domain|contracts|config)\/|^\.\.\/events\.js$/.test(m[1]!)) out.push(`${stage}/${file} -> ${m[1]}`);
    }
  }
  return out;
}

describe('stage boundaries', () => {
  it('ingest and publish import only domain/, contracts/ and config/ from outside themselves (collaborators come in through deps)', async () => {
    expect(await crossStageImports('worker/intake')).toEqual([]);
    expect(await crossStageImports('worker/publish')).toEqual([]);
  });
});
