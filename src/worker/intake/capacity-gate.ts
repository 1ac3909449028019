/**
 * What intake asks before it pulls a start: the capacity governor (worker/capacity/) answers it,
 * handed in as a collaborator. A start not pulled stays in the shared consumer for other workers.
 */
export interface AdmissionGate {
  /** Whether one more stream may be pulled with `held` streams held (the gate logs and reports every change). */
  admission(held: number): { readonly kind: 'admitting' | 'full' };
  /** A stream was taken: until it settles it counts at its expected cost. */
  admitted(): void;
  /** Resolves when the answer may have changed (the gate's next sample). */
  changed(): Promise<void>;
}
