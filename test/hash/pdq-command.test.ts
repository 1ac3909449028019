/** `streamscreen hash`, run in-process against the reference's own hashes. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/commands/hash.js';
import { decodedVectors, syntheticVectors } from './pdq-vectors.js';
import { captureIO as capture } from '../support/capture-io.js';

describe('streamscreen hash', () => {
  const vectors = decodedVectors();
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pdq-command-'));
    await writeFile(join(dir, 'notes.txt'), 'not an image\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('--dihedral prints every reference row exactly: 8 hashes, quality, file', async () => {
    const c = capture();
    const code = await run(['--dihedral', ...vectors.map((v) => v.path)], c.io);
    expect(c.err()).toBe('');
    expect(code).toBe(0);
    const lines = c.out().trimEnd().split('\n');
    expect(lines).toEqual(vectors.map((v) => `${v.dihedral.join(',')},${v.quality},${v.path}`));
  });

  it('--dihedral prints every row of the generated set exactly (sizes 5 px to 1500 px, grey and colour)', async () => {
    const synthetic = syntheticVectors();
    const c = capture();
    const code = await run(['--dihedral', ...synthetic.map((v) => v.path)], c.io);
    expect(c.err()).toBe('');
    expect(code).toBe(0);
    expect(c.out().trimEnd().split('\n')).toEqual(synthetic.map((v) => `${v.dihedral.join(',')},${v.quality},${v.path}`));
  });

  it('prints hash,quality,file without --dihedral', async () => {
    const picked = vectors.filter((v) => /wee|q0003|bridge-2/.test(v.file));
    expect(picked.length).toBe(3);
    const c = capture();
    expect(
      await run(
        picked.map((v) => v.path),
        c.io,
      ),
    ).toBe(0);
    expect(c.out()).toBe(picked.map((v) => `${v.hash},${v.quality},${v.path}\n`).join(''));
  });

  it('reports unreadable files on stderr by name, hashes the rest, exits 1', async () => {
    const good = vectors[0]!;
    const missing = join(dir, 'missing.png');
    const text = join(dir, 'notes.txt');
    const c = capture();
    const code = await run([missing, good.path, text, dir], c.io);
    expect(code).toBe(1);
    expect(c.out()).toBe(`${good.hash},${good.quality},${good.path}\n`);
    const errors = c.err().trimEnd().split('\n');
    expect(errors).toHaveLength(3);
    expect(errors[0]).toBe(`streamscreen hash: ${missing}: no such file`);
    expect(errors[1]).toMatch(new RegExp(`^streamscreen hash: ${text}: cannot decode image: .+`));
    expect(errors[2]).toBe(`streamscreen hash: ${dir}: not a regular file`);
  });

  it('usage errors exit 2: no files, unknown option', async () => {
    const none = capture();
    expect(await run([], none.io)).toBe(2);
    expect(none.err()).toMatch(/no files given[\s\S]*usage: streamscreen hash/);
    expect(none.out()).toBe('');

    const unknown = capture();
    expect(await run(['--rotate', vectors[0]!.path], unknown.io)).toBe(2);
    expect(unknown.err()).toMatch(/--rotate[\s\S]*usage: streamscreen hash/);
    expect(unknown.out()).toBe('');
  });

  it('--help prints usage on stdout and exits 0', async () => {
    const c = capture();
    expect(await run(['--help'], c.io)).toBe(0);
    expect(c.out()).toMatch(/^usage: streamscreen hash \[--dihedral\] FILE\.\.\./);
    expect(c.err()).toBe('');
  });
});
