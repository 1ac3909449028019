import { z } from 'zod';
import { ms } from '../fields.js';

const score = (def: number) => z.number().min(0).max(1).default(def);

/** The decision policy (config section `policy`); the policy takes it as it is. */
export const PolicySection = z.strictObject({
  /** `shadow` publishes decisions to shadow subjects only: a new policy is evaluated before it acts. */
  mode: z.enum(['enforce', 'shadow']).default('enforce'),
  /** A stream gets one kill-switch per cooldown; repeats add nothing while the platform acts. */
  killSwitchCooldownMs: ms(60_000),
  /** Reviewers get one escalation per stream and priority per cooldown, sooner if priority rises. */
  escalationCooldownMs: ms(30_000),
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
});

export type PolicyOptions = Readonly<z.output<typeof PolicySection>>;
