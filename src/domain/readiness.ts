/** One named readiness check: true, or false with a reason an operator can act on. */
export type ReadinessCheck = boolean | { readonly ok: boolean; readonly detail?: string | readonly string[] };

export interface Readiness {
  readonly ready: boolean;
  /** Failing checks as `name` or `name: detail`, in the order given (what /readyz shows). */
  readonly reasons: string[];
}

/** Ready exactly when every check passes. Pure: the checks are read by the caller. */
export function readiness(checks: Readonly<Record<string, ReadinessCheck>>): Readiness {
  const reasons: string[] = [];
  for (const [name, check] of Object.entries(checks)) {
    if (check === true) continue;
    if (check === false) {
      reasons.push(name);
      continue;
    }
    if (check.ok) continue;
    const details = check.detail === undefined ? [] : typeof check.detail === 'string' ? [check.detail] : check.detail;
    if (details.length === 0) reasons.push(name);
    else for (const d of details) reasons.push(`${name}: ${d}`);
  }
  return { ready: reasons.length === 0, reasons };
}
