import { z } from 'zod';

/** `streamscreen console`: the reviewer console (issue 12). Defaults are safe for a first run behind a TLS proxy. */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const ROLES = ['reviewer', 'lead', 'admin'] as const;
const RoleSchema = z.enum(ROLES);

/** Wellness settings a reviewer account may override (per-reviewer defaults). */
export const WellnessSettingsSchema = z.strictObject({
  /**
   * Server-side Gaussian blur (sigma, px on a 320 px thumbnail) of the default rendition when
   * the worker stored no pre-blurred one. 12 leaves shapes and colours of a scene but no detail.
   */
  blurSigma: z.number().min(4).max(60).default(12),
  /** Revealed images stay greyscale: colour adds distress and rarely the decision. */
  greyscaleRevealed: z.boolean().default(true),
  /** A warning screen, with a stated reason, before a preserved original is shown. */
  warnBeforeOriginals: z.boolean().default(true),
  /**
   * Unblurred views (reveals and originals) per shift. 40: a shift of 8 h at the critical
   * deadline of 2 min holds at most ~240 cases; most are decided on metadata, scores and the
   * blurred storyboard, and the budget bounds the rest. A lead can lift a block.
   */
  exposureBudget: z.number().int().min(0).max(10_000).default(40),
});

const AccountSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.@-]{1,128}$/, 'account id: 1-128 of A-Z a-z 0-9 _ . @ -'),
  name: z.string().max(200).optional(),
  /** `scrypt$N$r$p$salt$hash` (base64): `streamscreen console hash-password` writes one. */
  passwordHash: z.string().regex(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/, 'must be a scrypt$N$r$p$salt$hash string'),
  roles: z.array(RoleSchema).min(1).default(['reviewer']),
  wellness: WellnessSettingsSchema.partial().optional(),
});

export const ConsoleConfigSchema = z
  .strictObject({
    /** Loopback: the console is meant to sit behind a TLS reverse proxy. */
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8480),
    /**
     * The origin browsers use (https://review.example.org). State-changing requests whose Origin
     * is another are refused; absent, the request's own Host is the expected origin.
     */
    publicOrigin: z.url().optional(),
    /** Signs session cookies; at least 32 characters. Required to run the console. */
    sessionSecret: z.string().min(32, 'must be at least 32 characters').optional(),
    /** A session lasts one shift. */
    sessionTtlMs: z
      .number()
      .int()
      .positive()
      .default(8 * HOUR),
    /** Secure cookies (HTTPS only). Off only for a console reached over plain HTTP on loopback. */
    secureCookies: z.boolean().default(true),
    accounts: z.array(AccountSchema).default([]),
    /** Identity from a reverse proxy that authenticates (OIDC at the proxy). Off by default. */
    trustedHeader: z
      .strictObject({
        enabled: z.boolean().default(false),
        userHeader: z.string().default('x-forwarded-user'),
        /** Comma-separated role names; absent or empty means defaultRoles. */
        rolesHeader: z.string().default('x-forwarded-groups'),
        defaultRoles: z.array(RoleSchema).min(1).default(['reviewer']),
        /** Only requests from these peer addresses may assert an identity. */
        proxies: z.array(z.string().min(1)).default(['127.0.0.1', '::1']),
      })
      .prefault({}),
    login: z
      .strictObject({
        /** Login attempts per client address and account per window: slows guessing, leaves room for typos. */
        maxAttempts: z.number().int().positive().default(5),
        windowMs: z.number().int().positive().default(MINUTE),
      })
      .prefault({}),
    /**
     * Review deadline per priority, from the time the case reached it. Critical 2 min: a live
     * stream keeps broadcasting while the case waits.
     */
    deadlines: z
      .strictObject({
        critical: z
          .number()
          .int()
          .positive()
          .default(2 * MINUTE),
        high: z
          .number()
          .int()
          .positive()
          .default(10 * MINUTE),
        normal: z
          .number()
          .int()
          .positive()
          .default(60 * MINUTE),
      })
      .prefault({}),
    /** A claim expires unless renewed: 5 min is more than a decision takes, and little for a case to sit locked. */
    claimTtlMs: z
      .number()
      .int()
      .min(1_000)
      .default(5 * MINUTE),
    wellness: WellnessSettingsSchema.prefault({}),
    /** Shifts for the exposure budget: fixed windows of this length from 00:00 UTC plus the offset. */
    shiftMs: z
      .number()
      .int()
      .min(MINUTE)
      .default(8 * HOUR),
    shiftOffsetMs: z
      .number()
      .int()
      .min(0)
      .default(6 * HOUR),
    /** Extra unblurred views a lead grants when lifting a reviewer's block. */
    liftGrant: z.number().int().positive().default(10),
    /** Closed cases stay on screen this long, so the reviewer sees the acknowledged result. */
    closedVisibleMs: z
      .number()
      .int()
      .min(0)
      .default(10 * MINUTE),
    /** Audit records the audit view shows (newest first). */
    auditViewLimit: z.number().int().positive().max(10_000).default(500),
    buckets: z
      .strictObject({
        claims: z
          .string()
          .regex(/^[A-Za-z0-9_-]+$/)
          .default('screening-console-claims'),
        exposure: z
          .string()
          .regex(/^[A-Za-z0-9_-]+$/)
          .default('screening-console-exposure'),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    const ids = c.accounts.map((a) => a.id);
    for (const id of new Set(ids.filter((id, i) => ids.indexOf(id) !== i))) {
      ctx.addIssue({ code: 'custom', path: ['accounts'], message: `duplicate account id '${id}'` });
    }
    if (c.shiftOffsetMs >= c.shiftMs) ctx.addIssue({ code: 'custom', path: ['shiftOffsetMs'], message: 'must be less than shiftMs' });
  });

export type ConsoleConfig = z.infer<typeof ConsoleConfigSchema>;
export type ConsoleAccount = ConsoleConfig['accounts'][number];
export type WellnessSettings = z.infer<typeof WellnessSettingsSchema>;
export type Role = (typeof ROLES)[number];

/**
 * What `streamscreen console` needs beyond the schema (the worker shares the file and needs none
 * of it): every problem at once.
 */
export function consoleConfigIssues(c: ConsoleConfig): string[] {
  const issues: string[] = [];
  if (!c.sessionSecret) issues.push('console.sessionSecret: required to run the console (at least 32 random characters)');
  if (c.accounts.length === 0 && !c.trustedHeader.enabled) {
    issues.push('console.accounts: no accounts and console.trustedHeader.enabled is false, so nobody could log in');
  }
  return issues;
}
