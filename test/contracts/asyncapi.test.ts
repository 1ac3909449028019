import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHANNELS } from '../../src/contracts/index.js';
import { renderAsyncApi, validateAsyncApi } from '../../scripts/contract-doc.js';

describe('docs/asyncapi.yaml', () => {
  it('is what src/contracts/ generates (run npm run contract when this fails)', async () => {
    const committed = await readFile(new URL('../../docs/asyncapi.yaml', import.meta.url), 'utf8');
    expect(committed, 'docs/asyncapi.yaml is out of date: run npm run contract').toBe(await renderAsyncApi());
  });

  it('validates with @asyncapi/parser without errors', async () => {
    expect(await validateAsyncApi(await renderAsyncApi())).toEqual([]);
  });

  it('a broken document is reported (the validation is not vacuous)', async () => {
    const text = (await renderAsyncApi()).replace('asyncapi: 3.0.0', 'asyncapi: 3.0.0\nchannels: 7');
    expect((await validateAsyncApi(text)).length).toBeGreaterThan(0);
  });

  it('has a channel and an operation for every subject, drafts tagged draft, every payload with schemaVersion', async () => {
    const doc = parse(await renderAsyncApi()) as {
      channels: Record<string, { address: string; tags?: { name: string }[] }>;
      operations: Record<string, { action: string; channel: { $ref: string } }>;
      components: { schemas: Record<string, { properties: Record<string, unknown>; required?: string[] }> };
    };
    for (const c of CHANNELS) {
      expect(doc.channels[c.id]?.address).toBe(c.address);
      expect(Object.values(doc.operations).some((o) => o.channel.$ref === `#/channels/${c.id}` && o.action === c.action)).toBe(true);
      expect(doc.channels[c.id]?.tags?.some((t) => t.name === 'draft') ?? false).toBe(c.draft);
      const schema = doc.components.schemas[c.message]!;
      expect(schema.properties).toHaveProperty('schemaVersion');
      // Outbound: always present. Inbound: platforms may omit it.
      expect(schema.required?.includes('schemaVersion') ?? false).toBe(c.action === 'send');
    }
    // Every channel is in use now: none is a draft.
    expect(CHANNELS.filter((c) => c.draft).map((c) => c.id)).toEqual([]);
  });
});
