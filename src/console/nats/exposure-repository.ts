import { createHash } from 'node:crypto';
import { StorageType, type JetStreamClient } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { z } from 'zod';
import type { Logger } from '../../domain/logger.js';
import { ensureKv } from '../../nats/index.js';
import { isCasConflict } from './cas.js';
import type { ExposureCount, ExposureOutcome, ExposureRepository } from '../ports.js';

const CountSchema = z.object({ used: z.number().int().min(0), granted: z.number().int().min(0) });

/** Compare-and-swap attempts before giving up: only the same reviewer's other tabs contend. */
const MAX_CAS_ATTEMPTS = 20;

/**
 * Unblurred views per reviewer and shift, counted in KV so the budget holds across console
 * restarts and replicas. Each count is a compare-and-swap: two tabs revealing at once cannot
 * both take the last view. Counters live two shifts (bucket max_age), then the server drops them.
 */
export async function openExposureRepository(
  js: JetStreamClient,
  bucket: string,
  shiftMs: number,
  logger: Logger,
): Promise<ExposureRepository> {
  const kv = await ensureKv(
    js,
    {
      name: bucket,
      history: 1,
      ttl: 2 * shiftMs,
      storage: StorageType.File,
      description: 'streamscreen console: unblurred evidence views per reviewer and shift',
    },
    logger,
  );
  return new KvExposure(kv);
}

class KvExposure implements ExposureRepository {
  constructor(private readonly kv: KV) {}

  consume(reviewer: string, shift: number, budget: number): Promise<ExposureOutcome> {
    return this.cas(reviewer, shift, (c) => (c.used < budget + c.granted ? { ...c, used: c.used + 1 } : undefined));
  }

  async read(reviewer: string, shift: number): Promise<ExposureCount> {
    return (await this.load(key(reviewer, shift))).count;
  }

  async grant(reviewer: string, shift: number, extra: number): Promise<ExposureCount> {
    return (await this.cas(reviewer, shift, (c) => ({ ...c, granted: c.granted + extra }))).count;
  }

  /** Applies `next` atomically; undefined from `next` means refused (nothing written). */
  private async cas(reviewer: string, shift: number, next: (c: ExposureCount) => ExposureCount | undefined): Promise<ExposureOutcome> {
    const k = key(reviewer, shift);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const { count, revision } = await this.load(k);
      const updated = next(count);
      if (!updated) return { ok: false, count };
      try {
        if (revision === undefined) await this.kv.create(k, JSON.stringify(updated));
        else await this.kv.update(k, JSON.stringify(updated), revision);
        return { ok: true, count: updated };
      } catch (err) {
        if (!isCasConflict(err)) throw err;
      }
    }
    throw new Error(`exposure counter ${k} kept changing under ${MAX_CAS_ATTEMPTS} attempts`);
  }

  private async load(k: string): Promise<{ count: ExposureCount; revision?: number }> {
    const entry = await this.kv.get(k);
    if (!entry || entry.operation !== 'PUT') return { count: { used: 0, granted: 0 } };
    const parsed = CountSchema.safeParse(entry.json());
    // An unreadable counter counts as spent, not as zero: the budget fails closed.
    return { count: parsed.success ? parsed.data : { used: Number.MAX_SAFE_INTEGER, granted: 0 }, revision: entry.revision };
  }
}

/** KV keys allow few characters; reviewer ids from a proxy may be e-mail addresses. */
function key(reviewer: string, shift: number): string {
  return `${createHash('sha256').update(reviewer).digest('hex').slice(0, 32)}.${shift}`;
}
