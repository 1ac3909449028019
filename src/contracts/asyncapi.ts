import { z } from 'zod';
import { CHANNELS } from './catalog.js';
import { SCHEMA_VERSION } from './common.js';

/**
 * The AsyncAPI 3 document, built from the same zod schemas the code validates with, so the
 * document cannot describe a payload the worker does not produce. Deterministic (no dates), so
 * a test can compare it with the committed docs/asyncapi.yaml.
 */
export function buildAsyncApiDocument(version: string): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};

  for (const c of CHANNELS) {
    if (!(c.message in schemas)) {
      schemas[c.message] = jsonSchemaOf(c.schema, c.action);
      messages[c.message] = {
        name: c.message,
        title: title(c.message),
        contentType: 'application/json',
        ...(c.draft ? { tags: [{ name: 'draft' }] } : {}),
        payload: { $ref: `#/components/schemas/${c.message}` },
      };
    }
    channels[c.id] = {
      address: c.address,
      description: `${c.description} Producer: ${c.producer}.${c.stream ? ` JetStream stream: ${c.stream}.` : ''}`,
      ...(Object.keys(c.parameters).length
        ? { parameters: Object.fromEntries(Object.entries(c.parameters).map(([k, description]) => [k, { description }])) }
        : {}),
      messages: { [c.message]: { $ref: `#/components/messages/${c.message}` } },
      ...(c.draft ? { tags: [{ name: 'draft' }], 'x-draft': true } : {}),
    };
    operations[`${c.action}${c.id[0]!.toUpperCase()}${c.id.slice(1)}`] = {
      action: c.action,
      channel: { $ref: `#/channels/${c.id}` },
      messages: [{ $ref: `#/channels/${c.id}/messages/${c.message}` }],
      ...(c.draft ? { tags: [{ name: 'draft' }] } : {}),
    };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'streamscreen',
      version,
      description: [
        'Wire contracts of streamscreen on NATS JetStream, generated from src/contracts/ by `npm run contract`.',
        `Every payload carries schemaVersion (now ${SCHEMA_VERSION}); inbound events may omit it (read as ${SCHEMA_VERSION}).`,
        'Subject prefixes are configurable; the defaults are shown. Channels tagged draft are roadmap contracts nothing uses yet.',
      ].join(' '),
    },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { messages, schemas },
  };
}

/** Draft-07 JSON Schema (what AsyncAPI's default schema format is built on). */
function jsonSchemaOf(schema: z.ZodType, action: 'send' | 'receive'): unknown {
  // What we receive is described as producers may send it (defaults absent), what we send as it is.
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-7',
    io: action === 'receive' ? 'input' : 'output',
  }) as Record<string, unknown>;
  void _drop;
  return rest;
}

function title(message: string): string {
  return message.replace(/([a-z])([A-Z])/g, '$1 $2');
}
