import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ms } from '../fields.js';

const score = (def: number) => z.number().min(0).max(1).default(def);

/** The decision policy (config section `policy`). */
export const PolicySection = z
  .strictObject({
    /** `shadow` publishes decisions to shadow subjects only: a new policy is evaluated before it acts. */
    mode: z.enum(['enforce', 'shadow']).default('enforce'),
    /**
     * Names this policy in every event (`policy.version`). Absent: `cfg-` and the first 12 hex
     * digits of the SHA-256 of the section's other values, so two workers with different
     * thresholds never claim the same version.
     */
    version: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/)
      .optional(),
    /** A stream gets one kill-switch per cooldown; repeats add nothing while the platform acts. */
    killSwitchCooldownMs: ms(60_000),
    /**
     * An open case is re-published with its latest scores at most this often (priority changes,
     * kill-switches, evidence and review results go out at once). 10 s keeps a console's sparkline
     * current without writing an event per sampled frame.
     */
    caseUpdateIntervalMs: ms(10_000),
    /**
     * porn + hentai probability that escalates on the nudity classifier alone. High, because the
     * model (~90% accurate upstream) fires on benign skin and reviewers' time is the scarce resource.
     */
    nudityEscalateAt: score(0.9),
    /** With a possible minor in the frame, a false negative costs far more than a review. */
    nudityWithMinorEscalateAt: score(0.5),
    /**
     * Apparent age under which a face counts as a possible minor, carried into the reason for
     * reviewers. 25, as age-assurance vendors use: their published figure is that 99.9% of
     * 13-17-year-olds are estimated under 25.
     */
    challengeAge: z.number().min(1).max(100).default(25),
    /** Drop-in classifier signals that escalate on their own, e.g. { "vendor_csam": 0.7 }. */
    customEscalateAt: z.record(z.string(), z.number().min(0).max(1)).default({}),
    /**
     * Temporal smoothing of classifier-only escalations: a reason class escalates once its signal
     * was over threshold on `k` of the last `n` classified frames of the stream (hash matches are
     * never smoothed). 3 of 5, from `npm run eval:benign` (12 generated benign scenes, 1.2
     * stream-hours, the deployed models): 0 critical and 0.83 normal pages per stream-hour at 3 of
     * 5 (1.67 k-of-n episodes/h unsmoothed, 0.83 at 2 of 3 or 3 of 5, 0 at 4 of 6). Benign false
     * positives come as isolated spikes (the issue's trailer: 2 critical-looking frames in 60),
     * which 3 of 5 removes entirely, or as slow scenes scoring near threshold for seconds, which no
     * short window separates from content; 3 of 5 costs a sustained signal 3 s at 1 fps and still
     * fires when the classifier sees the content on 60% of frames, where 4 of 6 needs two thirds.
     */
    smoothing: z
      .strictObject({
        k: z.number().int().min(1).max(32).default(3),
        n: z.number().int().min(1).max(32).default(5),
      })
      .prefault({}),
    /** `dismiss` suppresses the dismissed reason class for the stream this long (30 min: a reviewer's "this is fine" for a show segment). */
    dismissSuppressMs: ms(30 * 60_000),
    /**
     * Fail-safe: a stream that cannot be screened (source failed after retries, models not ready,
     * classifiers shed) opens an `unscreened` case of this priority...
     */
    unscreenedPriority: z.enum(['critical', 'high', 'normal']).default('normal'),
    /** ...and, for platforms that prefer it, also a kill-switch (reason fail_closed). Off: most platforms would rather review. */
    failClosed: z.boolean().default(false),
    /**
     * Consecutive frames whose classifiers were shed (over budget), failed or not ready before the
     * stream counts as unscreened by classifiers. 10 s at 1 fps: a load spike sheds a few frames;
     * a worker that sheds this many in a row is not classifying the stream.
     */
    unclassifiedFramesToReport: z.number().int().positive().default(10),
  })
  .superRefine((p, ctx) => {
    if (p.smoothing.k > p.smoothing.n) {
      ctx.addIssue({ code: 'custom', path: ['smoothing', 'k'], message: `k (${p.smoothing.k}) must be <= n (${p.smoothing.n})` });
    }
  });

export type PolicySectionValue = z.output<typeof PolicySection>;

/** What the policy takes: the section as validated, with its version worked out. */
export type PolicyOptions = Readonly<Omit<PolicySectionValue, 'version'> & { readonly version: string }>;

export function policyOptions(section: PolicySectionValue): PolicyOptions {
  const { version, ...rest } = section;
  return { ...rest, version: version ?? `cfg-${digest(rest)}` };
}

/** Stable over key order, so the same values give the same version on every worker. */
function digest(value: unknown): string {
  return createHash('sha256').update(canonical(value)).digest('hex').slice(0, 12);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
