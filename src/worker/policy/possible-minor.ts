/**
 * The "possible minor" signal from apparent ages.
 *
 * Apparent age from a face is an estimate with a wide error: the upstream age model reports a
 * mean absolute error of 4.54 years overall and 4.82 years for ages 9–18, so a 15-year-old is
 * routinely estimated at 20 and some at 25. Comparing against 18 would therefore miss many
 * minors. Age-assurance practice (e.g. the UK's "Challenge 25" and the facial age estimation
 * vendors that follow it) instead sets a *challenge age* well above the legal one: the
 * vendors' published figure is that 99.9% of 13–17-year-olds are estimated under 25. Anyone who
 * appears younger than the challenge age is treated as possibly a minor.
 *
 * The rule lives in the policy, not the classifiers: classifiers report apparent ages, and a
 * shadow policy can evaluate another challenge age on the same frames.
 *
 * The challenge age is policy.challengeAge (config/stages/policy.ts), 25 unless configured.
 *
 * This is a signal for escalation and human review, not a finding: it is wrong about many
 * adults (by design) and can still be wrong about a minor. Never present it as a certainty.
 */

/**
 * True when any face's apparent age is under the challenge age: the face may belong to a
 * minor and the frame deserves a closer look. False when no face was found, which says
 * nothing about whether a minor is present.
 */
export function possibleMinor(faces: ReadonlyArray<{ readonly age: number }>, challengeAge: number): boolean {
  if (!Number.isFinite(challengeAge) || challengeAge <= 0)
    throw new RangeError(`challenge age must be a positive number of years, got ${challengeAge}`);
  // A NaN age (a failed estimate) must not pass as "adult": treat it as possibly a minor.
  return faces.some((f) => !(f.age >= challengeAge));
}
