import { StorageType, type JetStreamClient } from '@nats-io/jetstream';
import type { KV, KvEntry } from '@nats-io/kv';
import { z } from 'zod';
import type { Logger } from '../../domain/logger.js';
import { ensureKv } from '../../nats/index.js';
import { isCasConflict } from './cas.js';
import type { ClaimOutcome, ClaimRecord, ClaimsRepository } from '../ports.js';

const ClaimValueSchema = z.object({ caseId: z.string(), reviewer: z.string(), reviewerName: z.string(), claimedAt: z.string() });

/**
 * Claims in a KV bucket (key = case id) whose max_age is the claim TTL, so the server drops a
 * claim nobody renewed even if every console is gone. Every write is a compare-and-swap on the
 * revision read, so of two reviewers claiming at once exactly one write lands. A claim's expiry
 * is its server timestamp plus the TTL (nats-server 2.9 has no per-key TTL, and the bucket's
 * max_age purge is not announced to watchers).
 */
export async function openClaimsRepository(
  js: JetStreamClient,
  bucket: string,
  ttlMs: number,
  logger: Logger,
  now: () => number = Date.now,
): Promise<ClaimsRepository> {
  const kv = await ensureKv(
    js,
    {
      name: bucket,
      history: 1,
      ttl: ttlMs,
      storage: StorageType.File,
      description: 'streamscreen console: which reviewer holds which case',
    },
    logger,
  );
  return new KvClaims(kv, ttlMs, now);
}

class KvClaims implements ClaimsRepository {
  constructor(
    private readonly kv: KV,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  async claim(caseId: string, reviewer: string, reviewerName: string): Promise<ClaimOutcome> {
    const value = JSON.stringify({ caseId, reviewer, reviewerName, claimedAt: new Date(this.now()).toISOString() });
    const entry = await this.kv.get(caseId);
    const held = entry ? this.record(entry) : undefined;
    if (held && held.reviewer !== reviewer) return { ok: false, heldBy: held };
    try {
      const revision =
        entry && entry.operation === 'PUT' ? await this.kv.update(caseId, value, entry.revision) : await this.kv.create(caseId, value);
      const written = await this.kv.get(caseId, { revision });
      const claim = written ? this.record(written) : undefined;
      if (claim) return { ok: true, claim };
    } catch (err) {
      if (!isCasConflict(err)) throw err;
    }
    // Someone wrote between our read and our write: theirs is the claim.
    const winner = await this.current(caseId);
    return winner && winner.reviewer === reviewer ? { ok: true, claim: winner } : { ok: false, heldBy: winner ?? fallback(caseId) };
  }

  async release(caseId: string, reviewer: string): Promise<boolean> {
    const entry = await this.kv.get(caseId);
    const held = entry ? this.record(entry) : undefined;
    if (!entry || !held || held.reviewer !== reviewer) return false;
    try {
      await this.kv.delete(caseId, { previousSeq: entry.revision });
      return true;
    } catch (err) {
      if (isCasConflict(err)) return false;
      throw err;
    }
  }

  async current(caseId: string): Promise<ClaimRecord | undefined> {
    const entry = await this.kv.get(caseId);
    return entry ? this.record(entry) : undefined;
  }

  async watch(onChange: (caseId: string, claim: ClaimRecord | undefined) => void): Promise<() => Promise<void>> {
    const iter = await this.kv.watch();
    const done = (async () => {
      for await (const e of iter) onChange(e.key, this.record(e));
    })();
    return async () => {
      iter.stop();
      await done;
    };
  }

  /** The claim an entry holds, or undefined when deleted, unreadable or expired. */
  private record(entry: KvEntry): ClaimRecord | undefined {
    if (entry.operation !== 'PUT') return undefined;
    let parsed;
    try {
      parsed = ClaimValueSchema.safeParse(entry.json());
    } catch {
      return undefined;
    }
    if (!parsed.success) return undefined;
    const expiresAt = entry.created.getTime() + this.ttlMs;
    if (expiresAt <= this.now()) return undefined;
    return { caseId: parsed.data.caseId, reviewer: parsed.data.reviewer, reviewerName: parsed.data.reviewerName, expiresAt };
  }
}

function fallback(caseId: string): ClaimRecord {
  return { caseId, reviewer: 'unknown', reviewerName: 'another reviewer', expiresAt: Date.now() };
}
