import type { EnforcementAction } from '../contracts/index.js';

/** What the enforcer reports while it works (domain/hooks.ts); metrics listen. */
export interface EnforcerEvents {
  action: { readonly action: EnforcementAction['action']; readonly result: EnforcementAction['result'] };
  /** A kill carried out: seconds from the worker's decision to the ingest's confirmation. */
  enforced: { readonly seconds: number };
}
