import type { Role, WellnessSettings } from '../../config/index.js';

/** Who is logged in, and with which roles and wellness settings. */
export interface Identity {
  readonly id: string;
  readonly name: string;
  readonly roles: readonly Role[];
  readonly via: 'password' | 'proxy';
  readonly wellness: WellnessSettings;
}

/** lead and admin can do what a reviewer can; admin what a lead can. */
const RANK: Record<Role, number> = { reviewer: 1, lead: 2, admin: 3 };

export function hasRole(identity: Identity, role: Role): boolean {
  return identity.roles.some((r) => RANK[r] >= RANK[role]);
}
