import type { z } from 'zod';
import { CHANNELS, channelForSubject } from '../../src/contracts/index.js';

/** Payload `type` -> schema, for subjects published under a test's own prefix. */
const BY_TYPE = new Map<string, z.ZodType>();
for (const c of CHANNELS) {
  const shape = (c.schema as unknown as { shape?: { type?: { value?: unknown } } }).shape;
  const type = shape?.type?.value;
  if (typeof type === 'string') BY_TYPE.set(type, c.schema);
}

/**
 * Throws unless `payload`, as published on `subject`, is what src/contracts/ says that subject
 * carries (found by subject under the default prefixes, else by the payload's `type`).
 */
export function expectContract(subject: string, payload: unknown): void {
  const typed = typeof payload === 'object' && payload !== null ? (payload as { type?: unknown }).type : undefined;
  const schema = channelForSubject(subject)?.schema ?? (typeof typed === 'string' ? BY_TYPE.get(typed) : undefined);
  if (!schema) throw new Error(`no contract in src/contracts/ for subject ${subject} (type ${String(typed)})`);
  const result = schema.safeParse(payload);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`payload on ${subject} breaks its contract: ${issues}\n${JSON.stringify(payload)}`);
  }
}
