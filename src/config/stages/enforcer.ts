import { z } from 'zod';
import { positiveMs } from '../fields.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The enforcer's blocks, kick calls, retries and audit (config section `enforcer`). */
export const EnforcerSection = z
  .strictObject({
    /** Defaults to `enforcer-<hostname>-<pid>`; recorded in the audit trail. */
    id: z.string().min(1).optional(),
    /** Durable consumer of screening.killswitch.* (shared by enforcer replicas). */
    consumer: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .default('enforcer'),
    /** How long a kill's block lasts: a day stops the encoder's reconnect loop and the same-evening retry. */
    blockMs: positiveMs(DAY_MS),
    /**
     * A hash-list kill is a match against known abuse material: its publisher stays blocked
     * until a person lifts it. False applies blockMs to those too.
     */
    hashKillsPermanent: z.boolean().default(true),
    /**
     * What a kill blocks. Key and stream id by default; `ip` is opt-in because addresses are
     * shared (carrier NAT, offices) and would refuse unrelated broadcasters.
     */
    blockScopes: z
      .array(z.enum(['key', 'stream', 'ip']))
      .min(1)
      .default(['key', 'stream']),
    /** One kick call's time limit; ingest control APIs answer in milliseconds. */
    kickTimeoutMs: positiveMs(5_000),
    /** Retry of a failed kick: doubling from the first delay up to the cap (domain/retry.ts). */
    retryBaseMs: positiveMs(500),
    retryMaxMs: positiveMs(30_000),
    /** Redelivery of a kill whose handler died; well above one kick plus the block writes. */
    ackWaitMs: positiveMs(30_000),
    /**
     * Audit retention. A year: US providers must preserve reported material's context for
     * one year (REPORT Act, 2024), and the audit is what says when and how a stream was cut.
     */
    auditMaxAgeMs: positiveMs(365 * DAY_MS),
    /** Expired blocks are deleted (and the lift audited) this often. */
    sweepIntervalMs: positiveMs(60_000),
  })

  .superRefine((e, ctx) => {
    if (e.retryMaxMs < e.retryBaseMs) ctx.addIssue({ code: 'custom', path: ['retryMaxMs'], message: 'must be >= retryBaseMs' });
    // A kill whose handler is still waiting on the ingest must not be redelivered to another replica.
    if (e.ackWaitMs <= 2 * e.kickTimeoutMs)
      ctx.addIssue({ code: 'custom', path: ['ackWaitMs'], message: 'must be more than twice kickTimeoutMs' });
    if (new Set(e.blockScopes).size !== e.blockScopes.length)
      ctx.addIssue({ code: 'custom', path: ['blockScopes'], message: 'lists a scope twice' });
  });

export type EnforcerOptions = Readonly<z.output<typeof EnforcerSection>>;
