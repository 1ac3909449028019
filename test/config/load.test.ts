import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSchema, loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/domain/errors.js';

function tempConfig(value: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'streamscreen-config-'));
  const file = join(dir, 'streamscreen.json');
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

describe('loadConfig', () => {
  it('gives the documented defaults with no file and no environment', () => {
    const { config, file } = loadConfig({ env: {}, cwd: mkdtempSync(join(tmpdir(), 'ss-empty-')) });
    expect(file).toBeUndefined();
    expect(config.nats.url).toBe('nats://127.0.0.1:4222');
    expect(config.sampler.fps).toBe(1);
    expect(config.hash.maxDistance).toBe(31);
    expect(config.hash.minQuality).toBe(50);
    expect(config.hash.lists).toEqual([]);
  });

  it('lists every problem at once, with its path', () => {
    const file = tempConfig({ sampler: { fps: 0, width: 'big' }, hash: { maxDistance: -1 }, bogus: 1 });
    let error: unknown;
    try {
      loadConfig({ env: {}, file });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues.join('\n');
    expect(issues).toContain('sampler.fps');
    expect(issues).toContain('sampler.width');
    expect(issues).toContain('hash.maxDistance');
    expect(issues).toMatch(/bogus/);
    expect((error as ConfigError).code).toBe('config_invalid');
  });

  it('refuses a file that is not JSON, naming the file', () => {
    const file = tempConfig('{ nats: ');
    expect(() => loadConfig({ env: {}, file })).toThrow(/not valid JSON/);
  });

  it('layers NATS_URL and STREAMSCREEN_HASH_LISTS over the file', () => {
    const file = tempConfig({
      nats: { url: 'nats://file:4222' },
      hash: { lists: [{ id: 'own', path: 'lists/own.txt', action: 'escalate' }] },
    });
    const { config } = loadConfig({
      env: { NATS_URL: 'nats://env:4222', STREAMSCREEN_HASH_LISTS: 'a/ncmec.txt, b/iwf list.csv' },
      file,
      cwd: '/srv',
    });
    expect(config.nats.url).toBe('nats://env:4222');
    expect(config.hash.lists.map((l) => [l.id, l.path, l.action])).toEqual([
      ['own', join(file, '..', 'lists/own.txt'), 'escalate'],
      ['ncmec', '/srv/a/ncmec.txt', 'kill'],
      ['iwf_list', '/srv/b/iwf list.csv', 'kill'],
    ]);
  });

  it('refuses two lists with the same id', () => {
    expect(() => loadConfig({ env: { STREAMSCREEN_HASH_LISTS: 'x/l.txt,y/l.txt' }, cwd: '/srv', file: tempConfig({}) })).toThrow(
      /duplicate list id 'l'/,
    );
  });

  it('ships an example file that states exactly the defaults', async () => {
    const example = (await import('../../config/streamscreen.example.json', { with: { type: 'json' } })).default;
    const { lists: _lists, ...hashDefaults } = ConfigSchema.parse({}).hash;
    const { lists: exampleLists, ...exampleHash } = example.hash;
    // Lists and ingests are examples of entries; everything else is the default.
    const { ingests: exampleIngests, ...rest } = example;
    expect({ ...rest, ingests: [], hash: exampleHash }).toEqual({ ...ConfigSchema.parse({}), hash: hashDefaults });
    expect(() => ConfigSchema.parse(example)).not.toThrow();
    expect(exampleLists.length).toBeGreaterThan(0);
    expect(exampleIngests.length).toBeGreaterThan(0);
  });
});
